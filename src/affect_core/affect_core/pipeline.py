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

"""The in-process graph: source -> stereo -> face -> window -> model -> fusion -> sinks.

The same core stages as the ROS 2 nodes, with the same parameter file, in one process
(the simulated rig renders in a second one, on another core). This is what ``affect lab``
runs, on a fresh machine with no ROS 2 installed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from affect_core.camera import IrCameraConfig
from affect_core.errors import ConfigError, InputError, RecordingError
from affect_core.face.detectors import resolve_detector
from affect_core.face.tracker import FaceTracker, FaceTrackerConfig
from affect_core.fusion import ConfidenceFusion, FusionConfig
from affect_core.lab_summary import (  # noqa: F401 - re-exported for callers
    JSONL_FILE,
    OVERLAY_TOPIC,
    RECORDING_DIR,
    LabSummary,
    ScoredWindow,
    TruthMatcher,
    count_rejected,
    format_summary,
    recording_path,
)
from affect_core.model.stage import EmotionVit, EmotionVitConfig
from affect_core.overlay import OverlayConfig, OverlayFeed
from affect_core.params import load_params_file
from affect_core.sim.rig import RigConfig
from affect_core.sinks.bag import BagSink
from affect_core.sinks.jsonl import JsonLinesSink
from affect_core.sources.base import Source, parse_source
from affect_core.sources.images import image_fields
from affect_core.sources.concrete import SimSource, open_source
from affect_core.sources.rig_process import RigProcessSource
from affect_core.stereo import StereoConfig, StereoDepth, regions_around
from affect_core.sync.associate import NearestAssociator
from affect_core.types import Emotion, FaceWindow, ImageFrame
from affect_core.window import WindowConfig, Windower

# Node names of the ROS 2 graph, i.e. the sections of the parameter file.
SECTIONS = ("sim_rig", "ir_camera", "stereo_depth", "face_tracker", "window_sync",
            "emotion_vit", "confidence_fusion", "overlay")


def _area_fraction(regions: list[tuple[int, int, int, int]] | None,
                   shape: tuple[int, ...]) -> float:
    """Share of a frame that stereo matching covers: 1 for the whole frame."""
    if regions is None:
        return 1.0
    covered = np.zeros(shape[:2], bool)
    for x, y, w, h in regions:
        covered[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = True
    return float(covered.mean())


class LabPipeline:
    """Wires the core stages in one process over the simulated rig."""

    def __init__(self, params: Mapping[str, Mapping[str, Any]]) -> None:
        unknown = sorted(set(params) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"unknown section(s) {', '.join(unknown)} in the parameter file; "
                              f"known: {', '.join(SECTIONS)}")
        self.camera_config = IrCameraConfig.from_params(params.get("ir_camera", {}))
        self.rig_config = RigConfig.from_params(params.get("sim_rig", {}))
        self.stereo_config = StereoConfig.from_params(params.get("stereo_depth", {}))
        self.face_config = FaceTrackerConfig.from_params(params.get("face_tracker", {}))
        self.window_config = WindowConfig.from_params(params.get("window_sync", {}))
        self.vit_config = EmotionVitConfig.from_params(params.get("emotion_vit", {}))
        self.fusion_config = FusionConfig.from_params(params.get("confidence_fusion", {}))
        self.overlay_config = OverlayConfig.from_params(params.get("overlay", {}))
        # Keep every scored window (keep_scored) and its model output (keep_predictions):
        # memory grows with the run, so only evaluation asks for them; the counts in the
        # summary do not need them.
        self.keep_scored = False
        self.keep_predictions = False
        # Render the simulated rig in a process of its own (on a second core). It is
        # spawned, so a script that runs the lab must guard its entry point with
        # ``if __name__ == "__main__":``, as multiprocessing requires; False renders here.
        self.render_in_process = True

    @classmethod
    def from_params_file(cls, path: str | Path, model_path: str | None = None,
                         preset: str | None = None, num_people: int | None = None,
                         seed: int | None = None) -> LabPipeline:
        """Load a ROS 2 parameter file, with command-line overrides applied on top."""
        params = {k: dict(v) for k, v in load_params_file(path).items()}
        overrides = {"emotion_vit": {"model_path": model_path},
                     "sim_rig": {"preset": preset, "num_people": num_people, "seed": seed}}
        for section, values in overrides.items():
            for name, value in values.items():
                if value is not None:
                    params.setdefault(section, {})[name] = value
        return cls(params)

    def open_source(self, spec: str, duration_s: float, rate: float = 0.0) -> Source:
        """Open the source named by ``spec`` (sim, camera:N, video:PATH, frames:DIR, bag:PATH)."""
        return open_source(spec, self.rig_config, self.camera_config, duration_s, rate)

    def run(self, duration_s: float, out_dir: Path, progress: bool = True,
            source: str = "sim", rate: float = 0.0, overlay: bool = False,
            stop: Callable[[], str] | None = None,
            on_frame: Callable[[int], None] | None = None) -> LabSummary:
        """Process up to ``duration_s`` seconds of sensor time from ``source``.

        Writes the /emotion recording and emotions.jsonl into ``out_dir``. Replayed
        sources run as fast as possible (``rate`` 0) or at ``rate`` x recorded timing.
        ``stop``, polled between frames, ends the run early when it returns a reason (such
        as a signal's name): the windows complete so far are still scored and written.
        ``on_frame`` is called with each IR frame's stamp (a soak samples memory with it).
        """
        if not duration_s > 0.0:
            raise ConfigError(f"--duration must be positive, got {duration_s}")
        recording = out_dir / RECORDING_DIR
        if recording.exists():
            raise RecordingError(f"{recording} already exists; remove it or choose another "
                                 "--out directory")
        sensor: Source = (RigProcessSource(self.rig_config, duration_s)
                          if self.render_in_process and parse_source(source)[0] == "sim"
                          else self.open_source(source, duration_s, rate))
        try:
            return self._run(sensor, duration_s, out_dir, progress, overlay, stop,
                             on_frame)
        finally:
            sensor.close()

    def _run(self, sensor: Source, duration_s: float, out_dir: Path, progress: bool,
             overlay: bool, stop: Callable[[], str] | None,
             on_frame: Callable[[int], None] | None) -> LabSummary:
        out_dir.mkdir(parents=True, exist_ok=True)
        window_config = self.window_config
        simulated = isinstance(sensor, (SimSource, RigProcessSource))
        if not simulated:
            # Frames expected follow the replayed stream's own rate.
            window_config = replace(window_config, nominal_rate_hz=sensor.nominal_fps)
        stereo = StereoDepth(self.stereo_config)
        face_config = replace(self.face_config, detector=resolve_detector(
            self.face_config.detector, simulated=simulated))
        tracker = FaceTracker(face_config, sensor.ir_camera)
        associator: NearestAssociator[ImageFrame, ImageFrame] = NearestAssociator(
            self.face_config.depth_max_age_s, max_wait_s=self.face_config.depth_max_wait_s)
        windower = Windower(window_config)
        vit = EmotionVit(self.vit_config)
        fusion = ConfidenceFusion(self.fusion_config)
        summary = LabSummary(model_id=vit.model.metadata.model_id,
                             model_training_data=vit.model.metadata.training_data,
                             execution_provider=vit.model.provider, out_dir=str(out_dir),
                             source=sensor.description)
        truth = TruthMatcher(window_config)
        spent = {"source": 0.0, "stereo": 0.0, "face": 0.0, "window": 0.0, "model": 0.0,
                 "fusion+sinks": 0.0}
        total = int(round(duration_s * sensor.nominal_fps))
        duration_ns = int(round(duration_s * 1e9))
        start = time.perf_counter()
        feed = OverlayFeed(self.overlay_config) if overlay else None
        extra = {OVERLAY_TOPIC: "sensor_msgs/msg/Image"} if overlay else None
        with BagSink(recording_path(out_dir), extra_topics=extra) as bag, \
                JsonLinesSink(out_dir / JSONL_FILE) as jsonl:
            def handle(windows: list[FaceWindow], live: bool = True) -> None:
                for window in windows:
                    t0 = time.perf_counter()
                    prediction = vit.predict(window)
                    t1 = time.perf_counter()
                    emotion: Emotion = fusion.fuse(prediction)
                    truth.score(emotion, prediction, summary, self.keep_scored,
                                self.keep_predictions)
                    if feed is not None:
                        feed.window(emotion, prediction)
                    bag.write(emotion)
                    jsonl.write(emotion)
                    t2 = time.perf_counter()
                    spent["model"] += t1 - t0
                    spent["fusion+sinks"] += t2 - t1
                    if live:  # not the windows the end of the run closes
                        summary.latency.add((newest[0] - window.end_ns) / 1e6,
                                            1000.0 * (t2 - newest[1]))

            def track(pairs: list[tuple[ImageFrame, ImageFrame | None]]) -> None:
                for ir, depth in pairs:
                    t0 = time.perf_counter()
                    try:
                        faces = tracker.process(ir, depth)
                    except InputError as err:
                        count_rejected(summary, err)
                        continue
                    t1 = time.perf_counter()
                    spent["face"] += t1 - t0
                    truth.vote(faces)
                    windows = windower.push(faces)
                    t2 = time.perf_counter()
                    spent["window"] += t2 - t1
                    if feed is not None:
                        feed.faces(faces)
                        drawing = feed.frame(ir)
                        if drawing is not None:
                            bag.write_record(OVERLAY_TOPIC, image_fields(ImageFrame(
                                ir.stamp_ns, ir.frame_id, "bgr8", drawing)), ir.stamp_ns)
                        spent["overlay"] = spent.get("overlay", 0.0) + time.perf_counter() - t2
                    handle(windows)

            bar = tqdm(total=total, desc="affect lab", unit="frame", disable=not progress)
            first_ns: int | None = None
            last_ns = 0
            events = iter(sensor.frames())
            newest = [0, start]  # stamp of the newest sensor event read, and when it was read
            while True:
                if stop is not None and (reason := stop()):
                    summary.stopped_by = reason
                    break
                t1 = time.perf_counter()
                event = next(events, None)
                t2 = time.perf_counter()
                spent["source"] += t2 - t1
                if event is None:
                    break
                stamps = [f.stamp_ns for f in (event.ir, event.stereo) if f is not None]
                if stamps:
                    newest[:] = [max(stamps), t2]
                if event.ir is not None:
                    if first_ns is None:
                        first_ns = event.ir.stamp_ns
                    if event.ir.stamp_ns - first_ns >= duration_ns:
                        break
                if event.truth is not None:
                    truth.add(event.truth)
                # The IR frame first: its depth comes out of stereo matching after it, as
                # in the graph and in a recording, so a replay gives what the live run
                # gave whatever depth_max_wait_s is.
                if event.ir is not None:
                    summary.frames += 1
                    last_ns = max(last_ns, event.ir.stamp_ns)
                    track(associator.add_primary(event.ir.stamp_ns, event.ir))
                    bar.update(1)
                    if on_frame is not None:
                        on_frame(event.ir.stamp_ns)
                if event.stereo is not None:
                    summary.stereo_frames += 1
                    t1 = time.perf_counter()
                    boxes = tracker.predicted_boxes_px(event.stereo.stamp_ns)
                    regions = (regions_around(boxes)
                               if self.stereo_config.match_at_faces and boxes else None)
                    summary.depth_area += _area_fraction(regions, event.stereo.left.shape)
                    try:
                        depth = stereo.compute(event.stereo, regions)
                    except InputError as err:
                        count_rejected(summary, err)
                    else:
                        spent["stereo"] += time.perf_counter() - t1
                        track(associator.add_secondary(depth.stamp_ns, depth))
            bar.close()
            track(associator.flush())
            # The stream covers [first stamp, stamp of the frame after the last one).
            if first_ns is not None:
                handle(windower.flush(last_ns + math.ceil(1e9 / sensor.nominal_fps)),
                       live=False)
        summary.wall_s = time.perf_counter() - start
        summary.recording_messages = bag.messages
        summary.sensor_s = summary.frames / sensor.nominal_fps
        summary.source_problems = dict(sensor.stats.problems)
        summary.frames_without_face = tracker.stats.frames_without_face
        summary.association = associator.stats
        summary.people = tracker.stats.tracks_started
        summary.windows = fusion.stats.windows
        summary.abstentions = fusion.stats.abstentions
        summary.abstain_reasons = dict(fusion.stats.abstain_reasons)
        summary.per_label = dict(fusion.stats.per_label)
        summary.dropped = dict(windower.stats.dropped)
        summary.window_completeness = windower.stats.completeness
        summary.stage_ms = {k: 1000.0 * v / max(summary.frames, 1) for k, v in spent.items()}
        return summary
