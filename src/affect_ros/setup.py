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

"""affect_ros: rclpy nodes over affect_core."""

from setuptools import find_packages, setup

PACKAGE = 'affect_ros'
NODES = ('sim_rig', 'ir_camera', 'stereo_depth', 'face_tracker', 'window_sync', 'emotion_vit',
         'confidence_fusion', 'overlay', 'results')

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='affect maintainers',
    maintainer_email='affect@example.org',
    description='rclpy nodes of the affect suite',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [*(f'{node} = {PACKAGE}.entry:{node}' for node in NODES),
                            f'graph_probe = {PACKAGE}.graph_probe:main'],
    },
)
