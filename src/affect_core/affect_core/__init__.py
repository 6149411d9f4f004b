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

"""affect_core: ROS-free affect estimation from IR and stereo depth, honest about trust.

The library works on numpy arrays and small typed dataclasses; the ROS 2 nodes in
affect_ros are thin adapters over it, and ``affect lab`` wires the same stages in one
process.
"""

__version__ = "0.1.0"
