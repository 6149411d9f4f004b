"""Fuzz the file sources: frame folders with odd or garbage files, damaged recordings.

Invariants: opening and reading a source either raises a SourceError with a message, or
yields frames whose IR image is 2-D with the pixel type its encoding names, counted in
the source's stats, at a positive finite nominal rate; whatever the source could not use
is a counted problem, never an unrelated exception. A recording damaged anywhere (cut
short as by a crash, bytes flipped, metadata.yaml garbled, a message that is not CDR) is
read up to the damage, which is reported.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from affect_core.errors import SourceError
from affect_core.sinks.sensor_bag import SensorBagWriter
from affect_core.sources.base import SensorFrame
from affect_core.sources.bag import IR_TOPIC, BagSource
from affect_core.sources.concrete import FramesSource
from affect_core.types import ENCODING_DTYPES, CameraModel, ImageFrame, StereoFrame

from tests.fuzzing import fuzz_target, scratch_dir

_SCRATCH: list[Path] = []


def _scratch() -> Path:
    """Return an empty scratch folder, the same one each example (no tmp_path in @given)."""
    if not _SCRATCH:
        _SCRATCH.append(scratch_dir("affect-fuzz-sources-"))
    root = _SCRATCH[0] / "case"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    return root


def _check_frames(source: Any, encoding: str) -> list[SensorFrame]:
    """Read every frame, checking each; return them (SourceError propagates)."""
    assert math.isfinite(source.nominal_fps) and source.nominal_fps > 0.0
    frames = list(source.frames())
    irs = [f.ir for f in frames if f.ir is not None]
    assert source.stats.ir_frames == len(irs)
    assert source.stats.stereo_pairs == sum(1 for f in frames if f.stereo is not None)
    for ir in irs:
        assert ir.data.ndim == 2
        assert ir.data.dtype == ENCODING_DTYPES[ir.encoding]
        assert ir.encoding == encoding or (encoding == "mono8" and ir.encoding == "mono16")
        assert isinstance(ir.stamp_ns, int)
    assert all(isinstance(k, str) and v > 0 for k, v in source.stats.problems.items())
    return frames


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


@st.composite
def image_files(draw: st.DrawFn) -> bytes:
    """Draw the bytes of an image file: a good PNG of odd size or type, or a broken one."""
    kind = draw(st.sampled_from(["mono16", "mono16", "mono8", "colour", "garbage",
                                 "truncated", "empty"]))
    shape = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
    if kind in ("mono16", "mono8", "truncated"):
        dtype = np.uint8 if kind == "mono8" else np.uint16
        data = _png(draw(hnp.arrays(dtype, shape)))
        return data[:draw(st.integers(0, len(data) - 1))] if kind == "truncated" else data
    if kind == "colour":
        return _png(draw(hnp.arrays(np.uint8, (*shape, 3))))
    if kind == "garbage":
        return b"\x89PNG\r\n\x1a\n" * draw(st.integers(0, 1)) + draw(st.binary(max_size=40))
    return b""


MANIFESTS = st.one_of(
    st.none(),
    st.fixed_dictionaries({"rig": st.fixed_dictionaries({"fps": st.sampled_from(
        [120.0, 30, 0, -5, "abc", None, float("nan"), 1e300, [1]])})}).map(
            lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries({"ir_camera": st.sampled_from([
        {"width_px": 6, "height_px": 6, "fx_px": 5.0, "fy_px": 5.0, "cx_px": 3.0,
         "cy_px": 3.0, "frame_id": "ir"},
        {"width": 6}, [], "camera", {"width_px": "6", "height_px": 6, "fx_px": 5.0,
                                     "fy_px": 5.0, "cx_px": 3.0, "cy_px": 3.0,
                                     "frame_id": "ir"}]),
        "stereo_baseline_m": st.sampled_from([0.05, "x", None, -1.0])}).map(
            lambda d: json.dumps(d).encode()),
    st.binary(max_size=30), st.sampled_from([b"[]", b"{", b"\xff\xfe", b"[" * 5000]))


@st.composite
def frame_folders(draw: st.DrawFn) -> tuple[dict[str, bytes], bytes | None, bytes | None]:
    """Draw a frames folder: IR files (some stereo twins), a timestamps.csv, a manifest."""
    names = draw(st.lists(st.from_regex(r"[a-z0-9]{1,6}\.(png|PNG|tif|txt)", fullmatch=True),
                          min_size=0, max_size=5, unique=True))
    files = {name: draw(image_files()) for name in names}
    table = None
    if draw(st.booleans()):
        stamps = st.sampled_from(["0", "8333333", "-1", "x", "²", "", "10" * 12])
        lines = [f"{name},{draw(stamps)}" for name in names if draw(st.integers(0, 4))]
        lines += draw(st.lists(st.text(max_size=12), max_size=2))
        table = "\n".join(lines).encode("utf-8")
        if draw(st.integers(0, 9)) == 0:
            table = b"\xff" + table
    return files, table, draw(MANIFESTS)


@fuzz_target(short=80, long=1_500)
@given(frame_folders(), st.sampled_from(["mono16", "mono8"]), st.booleans())
def test_a_frames_folder_yields_good_frames_or_a_source_error(
        folder: tuple[dict[str, bytes], bytes | None, bytes | None], encoding: str,
        stereo: bool) -> None:
    files, table, manifest = folder
    root = _scratch()
    for sub in (["ir", "stereo/left", "stereo/right"] if stereo else ["ir"]):
        (root / sub).mkdir(parents=True)
        for name, data in files.items():
            (root / sub / name).write_bytes(data)
    if table is not None:
        (root / "timestamps.csv").write_bytes(table)
    if manifest is not None:
        (root / "manifest.json").write_bytes(manifest)
    try:
        source = FramesSource(str(root), encoding=encoding)
        _check_frames(source, encoding)
    except SourceError as err:
        assert str(err)


# One small recording, made once: 12 IR frames (two encodings' worth of odd sizes would
# only slow it down) and 3 stereo pairs, with camera_info.
_CAMERA = CameraModel(8, 6, 10.0, 10.0, 4.0, 3.0, "ir", 0.0)
_RIGHT = CameraModel(8, 6, 10.0, 10.0, 4.0, 3.0, "right", 0.05)
_RECORDING: list[Path] = []


def _recording() -> Path:
    if not _RECORDING:
        path = scratch_dir("affect-fuzz-bag-") / "sensors"
        with SensorBagWriter(path, _CAMERA) as writer:
            for i in range(12):
                stamp = i * 8_333_333
                pair = (StereoFrame(stamp, np.full((6, 8), i, np.uint8),
                                    np.full((6, 8), i, np.uint8), _CAMERA, _RIGHT)
                        if i % 4 == 0 else None)
                writer.write(SensorFrame(ImageFrame(stamp, "ir", "mono16",
                                                    np.full((6, 8), i, np.uint16)), pair))
        _RECORDING.append(path)
    return _RECORDING[0]


@st.composite
def damage(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, int]], int | None]:
    """Draw damage to one file of the recording: flipped bytes, a cut, a zeroed run."""
    target = draw(st.sampled_from(["mcap", "mcap", "mcap", "metadata"]))
    flips = draw(st.lists(st.tuples(st.sampled_from(["flip", "zero"]),
                                    st.integers(0, 2**20), st.integers(1, 64)), max_size=4))
    cut = draw(st.one_of(st.none(), st.integers(0, 2**20)))
    return target, flips, cut


def _damaged_copy(target: str, flips: list[tuple[str, int, int]], cut: int | None) -> Path:
    copy = _scratch() / "sensors"
    shutil.copytree(_recording(), copy)
    path = next(copy.glob("*.mcap")) if target == "mcap" else copy / "metadata.yaml"
    data = bytearray(path.read_bytes())
    for kind, position, length in flips:
        at = position % len(data)
        if kind == "flip":
            data[at] ^= 0xFF
        else:
            data[at:at + length] = bytes(len(data[at:at + length]))
    if cut is not None:
        data = data[:cut % (len(data) + 1)]
    path.write_bytes(bytes(data))
    return copy


@fuzz_target(short=80, long=1_500)
@given(damage())
def test_a_damaged_recording_is_read_up_to_the_damage_or_is_a_source_error(
        case: tuple[str, list[tuple[str, int, int]], int | None]) -> None:
    path = _damaged_copy(*case)
    try:
        source = BagSource(str(path))
    except SourceError as err:
        assert str(path) in str(err)
        return
    try:
        frames = _check_frames(source, "mono16")
    except SourceError as err:  # e.g. a flipped encoding byte: the stream's setting is wrong
        assert IR_TOPIC in str(err)
        return
    finally:
        source.close()
    assert len([f for f in frames if f.ir is not None]) <= 12
    if not case[1] and case[2] is None:
        assert len(frames) == 15 and not source.stats.problems


@fuzz_target(short=60, long=600)
@given(st.lists(st.one_of(st.binary(max_size=60), st.sampled_from([b"\x00\x01\x00\x00"])),
                min_size=1, max_size=6), st.integers(0, 5))
def test_messages_that_are_not_cdr_images_are_counted_not_fatal(
        garbage: list[bytes], good: int) -> None:
    from rosbags.rosbag2 import StoragePlugin, Writer

    from affect_core.sinks.messages import build_message, typestore
    from affect_core.sources.images import IMAGE_TYPE, image_fields

    store = typestore()
    path = _scratch() / "garbled"
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection(IR_TOPIC, IMAGE_TYPE, typestore=store)
        stamp = 0
        for raw in garbage:
            stamp += 1
            writer.write(connection, stamp, raw)
        for i in range(good):
            stamp += 1
            frame = ImageFrame(stamp, "ir", "mono16", np.full((2, 3), i, np.uint16))
            writer.write(connection, stamp, bytes(store.serialize_cdr(
                build_message(IMAGE_TYPE, image_fields(frame)), IMAGE_TYPE)))
    source = BagSource(str(path))
    frames = _check_frames(source, "mono16")
    decoded = len(frames) - good  # garbage bytes that happen to be a valid image
    assert 0 <= decoded <= len(garbage)
    assert sum(source.stats.problems.values()) + decoded == len(garbage)


def test_a_recording_cut_short_is_read_up_to_the_cut_and_says_so() -> None:
    # Found by the damage target: a cut inside a chunk raised rosbags' errors from frames().
    source = BagSource(str(_damaged_copy("mcap", [], None)))  # intact: everything
    assert len(_check_frames(source, "mono16")) == 15
    for cut in range(200, 20_000, 997):
        try:
            source = BagSource(str(_damaged_copy("mcap", [], cut)))
        except SourceError:
            continue
        frames = _check_frames(source, "mono16")
        if len(frames) < 15:
            assert any("cut short" in p for p in source.stats.problems)


def test_compressed_ir_images_are_refused_with_a_reason(tmp_path: Path) -> None:
    # Found by the damage target (a flipped type name): reading .encoding of a
    # CompressedImage raised AttributeError.
    from rosbags.rosbag2 import StoragePlugin, Writer

    from affect_core.sinks.messages import typestore

    with Writer(tmp_path / "compressed", version=8,
                storage_plugin=StoragePlugin.MCAP) as writer:
        writer.add_connection(IR_TOPIC, "sensor_msgs/msg/CompressedImage",
                              typestore=typestore())
    with pytest.raises(SourceError, match="CompressedImage, not sensor_msgs/msg/Image"):
        BagSource(str(tmp_path / "compressed"))


@pytest.mark.parametrize(("manifest", "reason"), [
    (b"{", "JSONDecodeError"), (b'{"rig": {"fps": 0}}', "frame rate must be positive"),
    (b'{"rig": {"fps": "abc"}}', "ValueError"), (b'{"ir_camera": {"width": 6}}', "TypeError")])
def test_a_bad_manifest_is_a_source_error(tmp_path: Path, manifest: bytes,
                                          reason: str) -> None:
    # Found by the frames target: JSONDecodeError, ZeroDivisionError, ValueError, TypeError.
    (tmp_path / "ir").mkdir()
    (tmp_path / "ir" / "a.png").write_bytes(_png(np.zeros((4, 4), np.uint16)))
    (tmp_path / "manifest.json").write_bytes(manifest)
    with pytest.raises(SourceError, match=reason):
        FramesSource(str(tmp_path))


def test_a_superscript_digit_in_timestamps_is_a_source_error(tmp_path: Path) -> None:
    # Found by the frames target: "²".isdigit() is true and int("²") a ValueError.
    (tmp_path / "ir").mkdir()
    (tmp_path / "ir" / "a.png").write_bytes(_png(np.zeros((4, 4), np.uint16)))
    (tmp_path / "timestamps.csv").write_text("a.png,²\n", encoding="utf-8")
    with pytest.raises(SourceError, match="expected 'file,stamp_ns'"):
        FramesSource(str(tmp_path))


def test_a_recording_of_the_ir_topic_alone_replays(tmp_path: Path) -> None:
    # Found by the garbled-message target: without camera_info connections rosbags read
    # every topic, so the first IR image was taken for a CameraInfo (AttributeError).
    from rosbags.rosbag2 import StoragePlugin, Writer

    from affect_core.sinks.messages import build_message, typestore
    from affect_core.sources.images import IMAGE_TYPE, image_fields

    store = typestore()
    with Writer(tmp_path / "ir_only", version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection(IR_TOPIC, IMAGE_TYPE, typestore=store)
        for i in range(3):
            frame = ImageFrame(i * 8_333_333, "ir", "mono16", np.full((2, 3), i, np.uint16))
            writer.write(connection, frame.stamp_ns, bytes(store.serialize_cdr(
                build_message(IMAGE_TYPE, image_fields(frame)), IMAGE_TYPE)))
    source = BagSource(str(tmp_path / "ir_only"))
    frames = _check_frames(source, "mono16")
    assert source.ir_camera is None and not source.stats.problems
    assert [int(f.ir.data[0, 0]) for f in frames if f.ir is not None] == [0, 1, 2]
