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
from calibration), sensors (false: start neither sim_rig nor ir_camera, for sensor topics
that come from elsewhere, e.g. ros2 bag play), respawn (true: launch restarts a node that
dies, after respawn_delay seconds; default false), dds_tuning (true: Cyclone DDS settings
for 600 KB frames at 120 fps, see DDS_TUNING; default true).

The lifecycle nodes (face_tracker, emotion_vit) get ``autostart: true`` and configure
and activate themselves, so a respawned one comes back active with nobody to drive it.
With respawn:=true a node that exits because of a bad parameter or an unusable model is
restarted too, every respawn_delay seconds, each time with the same fatal message.
Ctrl-C stops every node cleanly (each reports "process has finished cleanly").
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
import yaml

STAGES = ('stereo_depth', 'face_tracker', 'window_sync', 'emotion_vit', 'confidence_fusion')
# Nodes that load models on configure; they configure and activate themselves (autostart).
LIFECYCLE_STAGES = ('face_tracker', 'emotion_vit')
# With compose:=true these run in one process (affect_ros results_node), in this order.
COMPOSED_STAGES = ('window_sync', 'emotion_vit', 'confidence_fusion')
# Cyclone DDS on one host: a receive buffer as large as the kernel allows (max: never
# refused, unlike min) and datagrams of up to 64 KB instead of 14.7 KB. With the default
# 1 MB buffer, a subscriber that was busy for a few ms lost whole frames in the kernel (UDP
# receive buffer errors: 99.2 % of frames in windows); with these, none (99.99 %), and
# fewer datagrams per frame cost less CPU. Other RMWs ignore it.
DDS_TUNING = ('<CycloneDDS><Domain><General><MaxMessageSize>65500B</MaxMessageSize>'
              '</General><Internal><SocketReceiveBufferSize max="64MB"/></Internal>'
              '</Domain></CycloneDDS>')


def _detector(params_file, use_sim):
    """Resolve the face detector auto as the lab does (affect_core.face.detectors)."""
    from affect_core.face.detectors import resolve_detector

    with open(params_file, encoding='utf-8') as stream:
        data = yaml.safe_load(stream) or {}
    section = (data.get('face_tracker') or {}).get('ros__parameters') or {}
    return resolve_detector(section.get('detector', 'auto'), use_sim)


def _is_true(context, name):
    return LaunchConfiguration(name).perform(context).lower() in ('true', '1')


def _graph(context, *args, **kwargs):
    params_file = LaunchConfiguration('params_file').perform(context)
    model_path = LaunchConfiguration('model_path').perform(context)
    use_sim = _is_true(context, 'use_sim')
    restart = {'respawn': _is_true(context, 'respawn'),
               'respawn_delay': float(LaunchConfiguration('respawn_delay').perform(context))}
    sensor = 'sim_rig' if use_sim else 'ir_camera'
    composed = _is_true(context, 'compose')
    nodes = []
    if _is_true(context, 'sensors'):
        nodes.append(Node(package='affect_ros', executable=sensor, name=sensor,
                          parameters=[params_file], output='screen', **restart))
    for stage in STAGES:
        if composed and stage in COMPOSED_STAGES:
            continue
        parameters = [params_file]
        if stage == 'emotion_vit' and model_path:
            parameters.append({'model_path': model_path})
        if stage == 'face_tracker':
            parameters.append({'detector': _detector(params_file, use_sim)})
        if stage in LIFECYCLE_STAGES:
            nodes.append(LifecycleNode(
                package='affect_ros', executable=stage, name=stage, namespace='',
                parameters=[*parameters, {'autostart': True}], output='screen', **restart))
            continue
        nodes.append(Node(package='affect_ros', executable=stage, name=stage,
                          parameters=parameters, output='screen', **restart))
    if composed:
        # No name: a name would rename every node of the process. The parameter file's
        # sections go to each node by its own name; the overrides apply to whichever
        # node declares them (model_path: emotion_vit; autostart: its lifecycle).
        overrides = {'autostart': True, **({'model_path': model_path} if model_path else {})}
        nodes.append(Node(package='affect_ros', executable='results',
                          parameters=[params_file, overrides], output='screen', **restart))
    return nodes


def _dds(context, *args, **kwargs):
    """Put DDS_TUNING ahead of the user's CYCLONEDDS_URI: later entries win, theirs do."""
    if not _is_true(context, 'dds_tuning'):
        return []
    given = context.environment.get('CYCLONEDDS_URI', '')
    merged = f'{DDS_TUNING},{given}' if given else DDS_TUNING
    return [SetEnvironmentVariable('CYCLONEDDS_URI', merged)]


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
        DeclareLaunchArgument('sensors', default_value='true',
                              description='start the sensor node (false: the IR and depth '
                                          'topics come from elsewhere, e.g. ros2 bag play)'),
        DeclareLaunchArgument('respawn', default_value='false',
                              description='restart a node that dies'),
        DeclareLaunchArgument('respawn_delay', default_value='2.0',
                              description='seconds before a node that died is restarted'),
        DeclareLaunchArgument('compose', default_value='false',
                              description='run window_sync, emotion_vit and '
                                          'confidence_fusion in one process, one executor'),
        DeclareLaunchArgument('dds_tuning', default_value='true',
                              description='Cyclone DDS settings for large frames at a high '
                                          'rate (false: the DDS defaults)'),
        OpaqueFunction(function=_dds),
        OpaqueFunction(function=_transforms),
        OpaqueFunction(function=_graph),
        Node(package='affect_ros', executable='overlay', name='overlay',
             parameters=[params_file], output='screen',
             condition=IfCondition(LaunchConfiguration('overlay'))),
        Node(package='rviz2', executable='rviz2', name='rviz2',
             arguments=['-d', os.path.join(share, 'rviz', 'lab.rviz')],
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
