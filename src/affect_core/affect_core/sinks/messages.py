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

"""affect_msgs for rosbags: a typestore built from the package's own .msg files.

The .msg files are the ones affect_msgs builds with rosidl (affect_core ships them as
package data), so recordings written without ROS decode in ROS 2 and back.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.store import Typestore

from affect_core.errors import RecordingError

MSG_DIR = Path(__file__).resolve().parent.parent / "msg"
PACKAGE = "affect_msgs"


def message_files() -> list[Path]:
    """List the .msg files of affect_msgs."""
    return sorted(MSG_DIR.glob("*.msg"))


@lru_cache(maxsize=1)
def typestore() -> Typestore:
    """Make a Humble typestore with every affect_msgs type registered."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    types: dict[str, Any] = {}
    for path in message_files():
        types.update(get_types_from_msg(path.read_text(encoding="utf-8"),
                                        f"{PACKAGE}/msg/{path.stem}"))
    store.register(types)
    return store


def build_message(msgtype: str, record: dict[str, Any]) -> Any:
    """Build a rosbags message instance of ``msgtype`` from a message-shaped record.

    A value the field cannot hold (a float beyond float32, a count below zero or past
    uint32, a stamp after 2038 in Time's int32 seconds) is a RecordingError naming the
    field, rather than an OverflowError deep in serialisation.
    """
    return _build(typestore(), msgtype, record, msgtype)


def _build(store: Typestore, msgtype: str, record: dict[str, Any], path: str) -> Any:
    kwargs: dict[str, Any] = {}
    for name, (kind, detail) in store.fielddefs[msgtype][1]:
        kwargs[name] = _convert(store, kind, detail, record[name], f"{path}.{name}")
    return store.types[msgtype](**kwargs)


_NUMPY = {"float32": np.float32, "float64": np.float64, "uint8": np.uint8, "int8": np.int8,
          "uint16": np.uint16, "int16": np.int16, "uint32": np.uint32, "int32": np.int32,
          "uint64": np.uint64, "int64": np.int64}


def _check(typename: str, values: Any, path: str) -> None:
    """Refuse values outside the range of the field's base type."""
    dtype = _NUMPY.get(typename)
    if dtype is None or isinstance(values, (bytes, bytearray, memoryview)) or (
            isinstance(values, np.ndarray) and values.dtype == dtype):
        return  # raw image bytes and arrays already of the field's type fit by construction
    array = np.asarray(values)
    if not array.size or array.dtype.kind not in "biuf":
        return
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if array.dtype.kind == "f":
            over = ~np.isfinite(array) | (array < info.min) | (array > info.max)
        else:
            over = (array < info.min) | (array > info.max)
    else:
        with np.errstate(over="ignore"):  # overflow is what is being looked for
            over = np.isfinite(array) & np.isinf(array.astype(dtype))
    if over.any():
        raise RecordingError(f"{path} = {array[over].flat[0]} does not fit the message's "
                             f"{typename}")


def _convert(store: Typestore, kind: int, detail: Any, value: Any, path: str) -> Any:
    from rosbags.typesys.base import Nodetype

    if kind == Nodetype.NAME:
        return _build(store, detail, value, path)
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        (elem_kind, elem_detail), _ = detail
        if elem_kind == Nodetype.BASE and elem_detail[0] in _NUMPY:
            _check(elem_detail[0], value, path)
            return np.asarray(value, dtype=_NUMPY[elem_detail[0]])
        return [_convert(store, elem_kind, elem_detail, v, f"{path}[]") for v in value]
    if kind == Nodetype.BASE:
        _check(detail[0], value, path)
    return value


def message_record(msg: Any) -> Any:
    """Convert a rosbags message instance to a message-shaped record (nested dicts, lists)."""
    if hasattr(msg, "__msgtype__"):
        names = [name for name, _ in typestore().fielddefs[msg.__msgtype__][1]]
        return {name: message_record(getattr(msg, name)) for name in names}
    if isinstance(msg, np.ndarray):
        return [v.item() for v in msg]
    if isinstance(msg, list):
        return [message_record(v) for v in msg]
    return msg
