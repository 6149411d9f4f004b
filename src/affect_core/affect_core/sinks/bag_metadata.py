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

"""metadata.yaml of a rosbag2 recording that is still being written.

rosbags writes metadata.yaml only when a recording closes; a run killed before that would
leave a directory ``ros2 bag`` cannot open. The recorder rewrites it after every flush with
the messages the file then holds, in the layout rosbags itself writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from rosbags.rosbag2.metadata import dump_qos_v8, dump_qos_v9

METADATA_FILE = "metadata.yaml"


def metadata_fields(file_name: str, connections: Iterable[Any], counts: Mapping[str, int],
                    span_ns: tuple[int, int] | None, version: int) -> dict[str, Any]:
    """Build rosbag2_bagfile_information for ``counts`` messages per topic in ``file_name``."""
    dump_qos = dump_qos_v9 if version >= 9 else dump_qos_v8
    start_ns, end_ns = span_ns if span_ns is not None else (0, 0)
    duration_ns = end_ns - start_ns
    total = sum(counts.values())
    return {"rosbag2_bagfile_information": {
        "version": version,
        "storage_identifier": "mcap",
        "relative_file_paths": [file_name],
        "duration": {"nanoseconds": duration_ns},
        "starting_time": {"nanoseconds_since_epoch": start_ns},
        "message_count": total,
        "topics_with_message_count": [
            {"topic_metadata": {"name": c.topic, "type": c.msgtype,
                                "serialization_format": c.ext.serialization_format,
                                "offered_qos_profiles": dump_qos(c.ext.offered_qos_profiles),
                                "type_description_hash": c.digest},
             "message_count": counts.get(c.topic, 0)}
            for c in connections],
        "compression_format": "",
        "compression_mode": "",
        "files": [{"path": file_name, "starting_time": {"nanoseconds_since_epoch": start_ns},
                   "duration": {"nanoseconds": duration_ns}, "message_count": total}],
        "custom_data": None,
        "ros_distro": "rosbags",
    }}


def write_metadata(bag_dir: Path, file_name: str, connections: Iterable[Any],
                   counts: Mapping[str, int], span_ns: tuple[int, int] | None,
                   version: int) -> None:
    """Replace ``bag_dir``/metadata.yaml atomically, so a crash leaves the old or the new one."""
    text = yaml.safe_dump(metadata_fields(file_name, connections, counts, span_ns, version),
                          default_flow_style=False, sort_keys=False)
    tmp = bag_dir / f".{METADATA_FILE}.tmp"
    try:
        with tmp.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(bag_dir / METADATA_FILE)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
