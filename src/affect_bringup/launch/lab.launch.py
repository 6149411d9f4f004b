# Copyright 2026 affect maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Bring up the affect graph: sensors (or the simulated rig) through /emotion.

Launch arguments: use_sim (true: the simulated rig stands in for the IR camera and the
stereo pair), params_file (the ROS 2 parameter file, the same file `affect lab` reads),
model_path (an ONNX emotion model; empty keeps the parameter file's or the shipped one),
rviz (true: also open rviz2 with the affect configuration).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

STAGES = ('stereo_depth', 'face_tracker', 'window_sync', 'emotion_vit', 'confidence_fusion')


def _graph(context, *args, **kwargs):
    params_file = LaunchConfiguration('params_file').perform(context)
    model_path = LaunchConfiguration('model_path').perform(context)
    nodes = []
    for stage in STAGES:
        parameters = [params_file]
        if stage == 'emotion_vit' and model_path:
            parameters.append({'model_path': model_path})
        nodes.append(Node(package='affect_ros', executable=stage, name=stage,
                          parameters=parameters, output='screen'))
    return nodes


def generate_launch_description():
    share = get_package_share_directory('affect_bringup')
    use_sim = LaunchConfiguration('use_sim')
    params_file = LaunchConfiguration('params_file')
    return LaunchDescription([
        DeclareLaunchArgument('use_sim', default_value='true',
                              description='run the simulated rig instead of real sensors'),
        DeclareLaunchArgument('params_file',
                              default_value=os.path.join(share, 'config', 'lab.yaml'),
                              description='ROS 2 parameter file for every node'),
        DeclareLaunchArgument('model_path', default_value='',
                              description='ONNX emotion model (empty: from params_file)'),
        DeclareLaunchArgument('rviz', default_value='false', description='open rviz2'),
        Node(package='affect_ros', executable='sim_rig', name='sim_rig',
             parameters=[params_file], output='screen', condition=IfCondition(use_sim)),
        Node(package='affect_ros', executable='ir_camera', name='ir_camera',
             parameters=[params_file], output='screen', condition=UnlessCondition(use_sim)),
        # The simulated rig's IR camera and left stereo camera share one optical centre;
        # the right camera sits one baseline (sim_rig baseline_m) along +x.
        Node(package='tf2_ros', executable='static_transform_publisher',
             name='ir_to_stereo_left', condition=IfCondition(use_sim),
             arguments=['--frame-id', 'ir_camera_optical_frame',
                        '--child-frame-id', 'stereo_left_optical_frame']),
        Node(package='tf2_ros', executable='static_transform_publisher',
             name='stereo_left_to_right', condition=IfCondition(use_sim),
             arguments=['--x', '0.05', '--frame-id', 'stereo_left_optical_frame',
                        '--child-frame-id', 'stereo_right_optical_frame']),
        OpaqueFunction(function=_graph),
        Node(package='rviz2', executable='rviz2', name='rviz2',
             arguments=['-d', os.path.join(share, 'rviz', 'lab.rviz')],
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
