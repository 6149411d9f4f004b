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

"""``affect repair``: make a recording cut short by a crash whole again.

A recording whose writer died (SIGKILL, power loss, a full disk) holds its flushed chunks
but not MCAP's closing summary and footer, which rosbags and most readers need. Repair
reads the file record by record with the ``mcap`` library, keeps every message of every
complete chunk, and writes them, with their topics, types and QoS, into a new file with
its index and metadata.yaml. The original file is kept beside it as
``<name>.mcap.unclosed`` until the user deletes it: repair never destroys data.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING, Any

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.errors import WriterError
from rosbags.rosbag2.metadata import parse_qos
from rosbags.typesys.store import Typestore

from affect_core.errors import RecordingError
from affect_core.sinks.bag_metadata import METADATA_FILE
from affect_core.sinks.messages import typestore

if TYPE_CHECKING:
    from mcap.records import Channel, Schema

MAGIC = b"\x89MCAP0\r\n"
UNCLOSED_SUFFIX = ".unclosed"


@dataclass
class RepairReport:
    """What repair found and kept."""

    path: str
    state: str  # "closed" (nothing to do) or "repaired"
    messages: int = 0
    topics: int = 0
    bytes_salvaged: int = 0
    bytes_dropped: int = 0
    stopped_at: str = ""  # why reading stopped: the incomplete record at the end, if any

    def describe(self) -> str:
        """Say what happened and what the user may do next."""
        if self.state == "closed":
            return f"affect repair: {self.path} was closed properly; nothing to do"
        tail = (f"dropped an incomplete last record of {self.bytes_dropped} bytes"
                if self.bytes_dropped else "every record was complete")
        return (f"affect repair: {self.path}: kept {self.messages} messages on {self.topics} "
                f"topics from {self.bytes_salvaged} bytes; {tail} (reading stopped: "
                f"{self.stopped_at or 'end of file'}); the original file is kept as "
                f"*.mcap{UNCLOSED_SUFFIX}: delete it once the repaired recording reads back")


def mcap_file(bag_dir: Path) -> Path:
    """Return the one MCAP file of a recording directory, or say what is wrong."""
    if not bag_dir.is_dir():
        raise RecordingError(f"{bag_dir} is not a recording directory")
    files = sorted(bag_dir.glob("*.mcap"))
    if len(files) != 1:
        raise RecordingError(f"{bag_dir} holds {len(files)} .mcap files; repair handles "
                             "recordings of one MCAP file (as affect writes them)")
    return files[0]


def is_closed(path: Path) -> bool:
    """Tell whether an MCAP file ends with its footer and magic (its writer closed it)."""
    size = path.stat().st_size
    if size < 2 * len(MAGIC) + 29:
        return False
    with path.open("rb") as stream:
        stream.seek(size - len(MAGIC) - 29)
        tail = stream.read()
    return tail.endswith(MAGIC) and tail[0] == 0x02


def recording_closed(bag_dir: Path) -> bool:
    """Tell whether a recording directory was closed by its writer (file index and metadata)."""
    return (bag_dir / METADATA_FILE).is_file() and is_closed(mcap_file(bag_dir))


def repair(bag_dir: str | Path) -> RepairReport:
    """Rebuild a recording cut short by a crash from its complete chunks (see module doc)."""
    bag_dir = Path(bag_dir)
    source = mcap_file(bag_dir)
    if (bag_dir / METADATA_FILE).is_file() and is_closed(source):
        return RepairReport(str(bag_dir), "closed")
    work = bag_dir.parent / f".{bag_dir.name}.repair"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    target_dir = work / source.stem
    report = RepairReport(str(bag_dir), "repaired")
    try:
        _copy_complete(source, target_dir, report, typestore())
    except (OSError, WriterError) as err:
        shutil.rmtree(work, ignore_errors=True)
        raise RecordingError(f"cannot repair {bag_dir}: {err}; the recording is unchanged") \
            from err
    kept = source.with_name(source.name + UNCLOSED_SUFFIX)
    source.replace(kept)
    (target_dir / f"{source.stem}.mcap").replace(bag_dir / source.name)
    (target_dir / METADATA_FILE).replace(bag_dir / METADATA_FILE)
    shutil.rmtree(work)
    report.bytes_dropped = kept.stat().st_size - report.bytes_salvaged
    return report


def _copy_complete(source: Path, target_dir: Path, report: RepairReport,
                   store: Typestore) -> None:
    """Copy every message of complete records from ``source`` into a new recording."""
    try:
        from mcap.exceptions import McapError
        from mcap.records import Footer, Message
        from mcap.records import Schema as SchemaRecord, Channel as ChannelRecord
        from mcap.stream_reader import StreamReader
    except ImportError as err:
        raise RecordingError("affect repair reads MCAP record by record with the mcap "
                             "package: pip install mcap") from err
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {}
    connections: dict[int, Any] = {}
    writer = Writer(target_dir, version=8, storage_plugin=StoragePlugin.MCAP)
    with source.open("rb") as stream, writer:
        reader = StreamReader(stream, record_size_limit=1 << 31)
        records = reader.records
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except (McapError, EOFError, ValueError, OSError, struct.error) as err:
                report.stopped_at = f"{type(err).__name__} at byte {stream.tell()}"
                break
            if isinstance(record, Footer):
                break
            if isinstance(record, SchemaRecord):
                schemas[record.id] = record
            elif isinstance(record, ChannelRecord):
                channels[record.id] = record
            elif isinstance(record, Message):
                if record.channel_id not in connections:
                    channel = channels[record.channel_id]
                    schema = schemas[channel.schema_id]
                    connections[record.channel_id] = _connection(writer, channel, schema,
                                                                 store)
                writer.write(connections[record.channel_id], record.log_time, record.data)
                report.messages += 1
            report.bytes_salvaged = stream.tell()
    report.topics = len({channels[c].topic for c in connections})


def _connection(writer: Writer, channel: Channel, schema: Schema, store: Typestore) -> Any:
    """Add the channel's topic to the new recording with its type and offered QoS."""
    qos = parse_qos(channel.metadata.get("offered_qos_profiles", "") or [])
    if schema.name in store.fielddefs:
        return writer.add_connection(channel.topic, schema.name, typestore=store,
                                     offered_qos_profiles=qos)
    return writer.add_connection(channel.topic, schema.name, msgdef=schema.data.decode(),
                                 rihs01="", offered_qos_profiles=qos)
