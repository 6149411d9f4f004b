# affect on ROS 2 (CPU). Build from the repository root:
#   docker build -f docker/cpu.Dockerfile --build-arg ROS_DISTRO=jazzy -t affect:cpu .
#   docker run --rm -it affect:cpu ros2 launch affect_bringup lab.launch.py
ARG ROS_DISTRO=jazzy
FROM ros:${ROS_DISTRO}-ros-base

SHELL ["/bin/bash", "-c"]
WORKDIR /ws
COPY src/ src/
COPY colcon.meta ./
COPY models/ models/
# rosdep resolves numpy/OpenCV from apt and onnxruntime/rosbags from pip (their -pip keys).
RUN apt-get update \
    && rosdep update \
    && PIP_BREAK_SYSTEM_PACKAGES=1 rosdep install --from-paths src --ignore-src -y \
       --skip-keys rviz2 \
    && pip install --break-system-packages mcap \
    && rm -rf /var/lib/apt/lists/*
RUN source /opt/ros/${ROS_DISTRO}/setup.bash \
    && colcon build --metas colcon.meta --cmake-args -DBUILD_TESTING=OFF
RUN echo 'source /ws/install/setup.bash' >> /root/.bashrc
ENTRYPOINT ["/bin/bash", "-c", "source /ws/install/setup.bash && exec \"$@\"", "--"]
CMD ["ros2", "launch", "affect_bringup", "lab.launch.py"]
