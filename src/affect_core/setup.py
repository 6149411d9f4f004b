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

"""affect_core: installable with pip (pip install ./src/affect_core) and with colcon."""

from setuptools import find_packages, setup

PACKAGE = 'affect_core'

setup(
    name='affect-core',
    version='0.1.0',
    description='ROS-free affect estimation from IR and stereo depth, honest about trust',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=[PACKAGE, PACKAGE + '.*']),
    package_data={
        PACKAGE: ['py.typed', 'msg/*.msg', 'models/*.onnx', 'models/*.json',
                  'models/face/*.onnx', 'models/face/*.md', 'models/face/LICENSE.*',
                  'models/rig/*.npz', 'models/rig/*.md',
                  'config/*.yaml', 'label_page/static/*.html'],
    },
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
    ],
    install_requires=[
        'numpy>=1.21',
        'opencv-python-headless>=4.5',
        'onnxruntime>=1.14',
        'pyyaml>=5.4',
        'rosbags>=0.10,<0.12',
        'mcap>=1.1',
        'tqdm>=4.60',
    ],
    extras_require={
        'train': ['torch==2.14.1', 'torchvision==0.29.1', 'timm>=1.0', 'onnx>=1.15',
                  'onnxscript>=0.1'],
        'report': ['matplotlib>=3.5', 'scipy>=1.7'],
        'frontier': ['minisom>=2.3', 'onnx>=1.15', 'scipy>=1.7'],
        'test': ['pytest>=7', 'pytest-xdist>=3', 'hypothesis>=6', 'scikit-image>=0.19',
                 'matplotlib>=3.5', 'selenium>=4.10', 'minisom>=2.3'],
    },
    entry_points={
        'console_scripts': ['affect = affect_core.cli:main'],
    },
    zip_safe=False,
)
