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


"""Label less: choose which of a lab's own face crops are worth a person's time.

``affect frontier`` embeds unlabelled crops with the model's backbone (embed), lets a
self-organising map find their natural groups (som), picks the map nodes and the crops in
each that a labeller should see first, and writes them as a queue (queue) with a contact
sheet per node and a picture of the map (pictures). ``affect label`` serves the queue as a
page (affect_core.label_page) and ``affect train --labels`` fine-tunes on what was labelled
(affect_core.training.finetune).
"""
