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

"""What the ``affect`` subcommands share: the shipped parameter file and lazy imports."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from affect_core.errors import AffectError

DEFAULT_PARAMS = Path(__file__).resolve().parent.parent / "config" / "lab.yaml"


def training_module(name: str) -> Any:
    """Import a training module, or say which extra is missing."""
    try:
        return importlib.import_module(f"affect_core.training.{name}")
    except ImportError as err:
        raise AffectError(
            f"training needs PyTorch and timm ({err.name} is missing): "
            "pip install 'affect-core[train]'"
        ) from err
