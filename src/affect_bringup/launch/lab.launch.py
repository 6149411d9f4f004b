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
rviz (true: also open rviz2 with the affect configuration), overlay (true: also draw
/affect/overlay, the IR frame with boxes, labels, confidence and attention; opt-in because
it republishes raw frames), extrinsics_file (the static transforms between the cameras,
from calibration).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction
from launch.actions import RegisterEventHandler
from launch.conditions import IfCondition, UnlessCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition
import yaml

STAGES = ('stereo_depth', 'face_tracker', 'window_sync', 'emotion_vit', 'confidence_fusion')
# Nodes that load models on configure; the launch configures and activates them.
LIFECYCLE_STAGES = ('face_tracker', 'emotion_vit')


def _detector(params_file, use_sim):
    """Resolve the face detector auto: blob on the simulated rig, blazeface elsewhere."""
    with open(params_file, encoding='utf-8') as stream:
        data = yaml.safe_load(stream) or {}
    section = (data.get('face_tracker') or {}).get('ros__parameters') or {}
    chosen = section.get('detector', 'auto')
    if chosen != 'auto':
        return chosen
    return 'blob' if use_sim else 'blazeface'


def _graph(context, *args, **kwargs):
    params_file = LaunchConfiguration('params_file').perform(context)
    model_path = LaunchConfiguration('model_path').perform(context)
    use_sim = LaunchConfiguration('use_sim').perform(context).lower() in ('true', '1')
    nodes = []
    for stage in STAGES:
        parameters = [params_file]
        if stage == 'emotion_vit' and model_path:
            parameters.append({'model_path': model_path})
        if stage == 'face_tracker':
            parameters.append({'detector': _detector(params_file, use_sim)})
        if stage in LIFECYCLE_STAGES:
            nodes += _lifecycle(stage, parameters)
            continue
        nodes.append(Node(package='affect_ros', executable=stage, name=stage,
                          parameters=parameters, output='screen'))
    return nodes


def _lifecycle(stage, parameters):
    """Start a lifecycle node, configure it, and activate it once it is configured."""
    node = LifecycleNode(package='affect_ros', executable=stage, name=stage, namespace='',
                         parameters=parameters, output='screen')

    def change(transition):
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                           transition_id=transition))

    return [
        node,
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, goal_state='inactive',
            entities=[change(Transition.TRANSITION_ACTIVATE)])),
        change(Transition.TRANSITION_CONFIGURE),
    ]


def _transforms(context, *args, **kwargs):
    path = LaunchConfiguration('extrinsics_file').perform(context)
    with open(path, encoding='utf-8') as stream:
        data = yaml.safe_load(stream)
    nodes = []
    for index, entry in enumerate((data or {}).get('transforms', [])):
        try:
            x, y, z = (str(float(v)) for v in entry['translation_m'])
            qx, qy, qz, qw = (str(float(v)) for v in entry['rotation_xyzw'])
            parent, child = str(entry['parent']), str(entry['child'])
        except (KeyError, TypeError, ValueError) as err:
            raise RuntimeError(f'{path}: transform {index} needs parent, child, '
                               f'translation_m [x, y, z] and rotation_xyzw [x, y, z, w]') from err
        nodes.append(Node(
            package='tf2_ros', executable='static_transform_publisher',
            name=f'tf_{parent}_to_{child}',
            arguments=['--x', x, '--y', y, '--z', z, '--qx', qx, '--qy', qy, '--qz', qz,
                       '--qw', qw, '--frame-id', parent, '--child-frame-id', child]))
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
        DeclareLaunchArgument('overlay', default_value='false',
                              description='publish /affect/overlay (raw frames: opt-in)'),
        DeclareLaunchArgument('extrinsics_file',
                              default_value=os.path.join(share, 'config', 'extrinsics.yaml'),
                              description='static transforms between the cameras'),
        Node(package='affect_ros', executable='sim_rig', name='sim_rig',
             parameters=[params_file], output='screen', condition=IfCondition(use_sim)),
        Node(package='affect_ros', executable='ir_camera', name='ir_camera',
             parameters=[params_file], output='screen', condition=UnlessCondition(use_sim)),
        OpaqueFunction(function=_transforms),
        OpaqueFunction(function=_graph),
        Node(package='affect_ros', executable='overlay', name='overlay',
             parameters=[params_file], output='screen',
             condition=IfCondition(LaunchConfiguration('overlay'))),
        Node(package='rviz2', executable='rviz2', name='rviz2',
             arguments=['-d', os.path.join(share, 'rviz', 'lab.rviz')],
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
