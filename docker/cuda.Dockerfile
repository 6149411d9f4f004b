# affect on ROS 2 Jazzy with CUDA: ONNX Runtime's CUDA execution provider
# (emotion_vit execution_provider: auto picks TensorRT, then CUDA, then CPU).
#   docker build -f docker/cuda.Dockerfile -t affect:cuda .
#   docker run --rm -it --gpus all affect:cuda ros2 launch affect_bringup lab.launch.py
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive ROS_DISTRO=jazzy LANG=C.UTF-8
SHELL ["/bin/bash", "-c"]
RUN apt-get update && apt-get install -y --no-install-recommends curl gnupg lsb-release \
    && curl -sSL https://raw.githubusercontent.com/ros/rosdistro/master/ros.key \
       -o /usr/share/keyrings/ros-archive-keyring.gpg \
    && echo "deb [signed-by=/usr/share/keyrings/ros-archive-keyring.gpg] \
       http://packages.ros.org/ros2/ubuntu $(lsb_release -cs) main" \
       > /etc/apt/sources.list.d/ros2.list \
    && apt-get update && apt-get install -y --no-install-recommends \
       ros-jazzy-ros-base ros-jazzy-cv-bridge ros-jazzy-message-filters ros-jazzy-tf2-ros \
       python3-colcon-common-extensions python3-rosdep python3-pip python3-opencv \
       python3-yaml python3-tqdm \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --break-system-packages onnxruntime-gpu "rosbags<0.12" mcap
WORKDIR /ws
COPY src/ src/
COPY colcon.meta ./
COPY models/ models/
RUN source /opt/ros/jazzy/setup.bash \
    && colcon build --metas colcon.meta --cmake-args -DBUILD_TESTING=OFF
ENTRYPOINT ["/bin/bash", "-c", "source /ws/install/setup.bash && exec \"$@\"", "--"]
CMD ["ros2", "launch", "affect_bringup", "lab.launch.py"]
