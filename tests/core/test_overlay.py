"""The /affect/overlay image: what is drawn where, and what is current."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affect_core.errors import InputError
from affect_core.overlay import (
    OverlayConfig,
    OverlayFace,
    OverlayState,
    crop_square,
    display_levels,
    render_overlay,
)
from affect_core.types import NAN, Emotion

BOX = (100, 80, 60, 80)


def _frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(1000, 3000, (240, 320)).astype(np.uint16)


def _emotion(person: str, stamp_s: float, label: str = "happy", confidence: float = 0.9,
             abstained: bool = False) -> Emotion:
    return Emotion(int(stamp_s * 1e9), "ir", person, int((stamp_s - 2) * 1e9), ("happy",),
                   (confidence,), "unknown" if abstained else label, NAN, NAN, confidence,
                   abstained, 1.0, 1.0, NAN, 240, 240, (NAN, NAN, NAN), "m", candidate=label)


def test_display_levels_stretch_a_dim_16_bit_frame_to_the_full_8_bit_range() -> None:
    levels = display_levels(_frame())
    assert levels.dtype == np.uint8
    assert levels.min() == 0 and levels.max() == 255
    with pytest.raises(InputError):
        display_levels(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError):
        display_levels(np.zeros((0, 0), np.uint16))


def test_box_colour_follows_confidence_and_the_bar_fills_to_it() -> None:
    config = OverlayConfig(heatmap=False, abstain_below=0.5)
    sure = render_overlay(_frame(), [OverlayFace("p1", BOX, "happy", 1.0)], config)
    x, y, w, h = BOX
    # Confident: green box edge (BGR: blue low, green high, red low).
    b, g, r = (int(v) for v in sure[y + h // 2, x])
    assert g > 200 and r < 60
    unsure = render_overlay(_frame(), [OverlayFace("p1", BOX, "happy", 0.3, True)], config)
    b, g, r = (int(v) for v in unsure[y + h // 2, x])
    assert b == g == r  # abstained: grey
    half = render_overlay(_frame(), [OverlayFace("p1", BOX, "happy", 0.25)], config)
    bar_row = half[y + h + 7]  # inside the 6 px bar under the box
    coloured = [i for i in range(x, x + w + 1) if bar_row[i, 2] > 200 and bar_row[i, 0] < 60]
    # Filled to 0.25 of the width (red-orange at low confidence).
    assert abs((max(coloured) - x) - 0.25 * w) <= 2


def test_attention_heatmap_lands_on_the_part_of_the_crop_it_marks() -> None:
    attention = np.zeros((8, 8), np.float32)
    attention[:4, :4] = 1.0  # the crop's top-left quadrant
    config = OverlayConfig(heatmap=True, heatmap_alpha=0.6, crop_margin=1.2)
    out = render_overlay(np.full((240, 320), 2000, np.uint16),
                         [OverlayFace("p1", BOX, "happy", 0.9, attention=attention)], config)
    x0, y0, side = crop_square(BOX, 1.2)
    hot = out[y0 + side // 8, x0 + side // 8].astype(int)
    cold = out[y0 + 7 * side // 8, x0 + 7 * side // 8].astype(int)
    # JET: high attention is red; where attention is 0 the frame shows through unchanged.
    plain = render_overlay(np.full((240, 320), 2000, np.uint16),
                           [OverlayFace("p1", BOX, "happy", 0.9)], config)
    assert hot[2] > hot[0] + 50
    assert (cold == plain[y0 + 7 * side // 8, x0 + 7 * side // 8]).all()


def test_state_draws_only_current_boxes_and_estimates() -> None:
    state = OverlayState(OverlayConfig(box_max_age_s=0.25, emotion_max_age_s=3.0))
    state.add_box("p1", BOX, int(10.0e9))
    state.add_emotion(_emotion("p1", 9.0))
    state.add_box("p2", (10, 10, 30, 40), int(9.0e9))  # left 1 s ago: not drawn
    faces = state.faces(int(10.1e9))
    assert [f.person_id for f in faces] == ["p1"]
    assert faces[0].label == "happy" and faces[0].confidence == pytest.approx(0.9)
    # 5 s after the estimate, the box is still drawn but without a stale label.
    state.add_box("p1", BOX, int(14.0e9))
    later = state.faces(int(14.0e9))
    assert later[0].label is None and math.isnan(later[0].confidence)
    # Long after everything, the person is forgotten.
    assert state.faces(int(60e9)) == [] and not state._people


def test_abstained_estimate_keeps_its_candidate_and_attention_is_rescaled() -> None:
    state = OverlayState(OverlayConfig())
    state.add_box("p1", BOX, int(5e9))
    state.add_emotion(_emotion("p1", 5.0, "sad", 0.2, abstained=True))
    state.add_attention("p1", np.array([[2.0, 4.0], [6.0, 10.0]], np.float32))
    face = state.faces(int(5e9))[0]
    assert face.abstained and face.label == "sad"
    assert face.attention == pytest.approx(np.array([[0.0, 0.25], [0.5, 1.0]]))
    with pytest.raises(InputError):
        state.add_attention("p1", np.array([1.0, np.nan], np.float32))


def test_lab_records_the_overlay_only_when_asked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rosbags.rosbag2 import Reader

    from affect_core.cli import DEFAULT_PARAMS
    from affect_core.pipeline import RECORDING_DIR, LabPipeline
    from affect_core.sinks.messages import typestore

    pipeline = LabPipeline.from_params_file(DEFAULT_PARAMS)
    rate_hz = pipeline.overlay_config.rate_hz
    summary = pipeline.run(3.0, tmp_path / "with", progress=False, overlay=True)
    store = typestore()
    with Reader(tmp_path / "with" / RECORDING_DIR) as reader:
        connections = [c for c in reader.connections if c.topic == "/affect/overlay"]
        images = [store.deserialize_cdr(raw, c.msgtype)
                  for c, _, raw in reader.messages(connections=connections)]
    # One drawing every 1 / rate_hz of stream time.
    assert len(images) == round(3.0 * rate_hz)
    last = images[-1]
    assert last.encoding == "bgr8" and (last.height, last.width) == (480, 640)
    pixels = np.asarray(last.data, np.uint8).reshape(480, 640, 3).astype(int)
    coloured = (pixels.max(axis=2) - pixels.min(axis=2)) > 60
    # The first window closes at 2 s: by the last drawing a coloured box and bar are there,
    # unless every estimate abstained (grey).
    if summary.windows > summary.abstentions:
        assert coloured.sum() > 100
    pipeline.run(1.0, tmp_path / "without", progress=False)
    with Reader(tmp_path / "without" / RECORDING_DIR) as reader:
        assert [c.topic for c in reader.connections] == ["/emotion"]


def test_the_shipped_model_explains_each_crop_in_the_same_run() -> None:
    from affect_core.model.stage import EmotionVit, EmotionVitConfig
    from affect_core.types import FaceObservation, FaceWindow, FrameQuality

    rng = np.random.default_rng(3)
    samples = [FaceObservation(i, "p1", BOX, (NAN, NAN, NAN), FrameQuality(1, 1, NAN, 1),
                               rng.integers(0, 60000, (64, 64)).astype(np.uint16), "mono16")
               for i in range(4)]
    window = FaceWindow("p1", "ir", 0, 2_000_000_000, 240, 240, samples, 1, 1, NAN,
                        (NAN, NAN, NAN))
    vit = EmotionVit(EmotionVitConfig())
    explained = vit.predict(window)
    assert explained.attention is not None and explained.attention.shape[0] == 4
    assert np.isfinite(explained.attention).all()
    plain = EmotionVit(EmotionVitConfig(attention_maps=False)).predict(window)
    assert plain.attention is None
    # Explaining does not change the estimate.
    np.testing.assert_allclose(plain.probabilities, explained.probabilities, rtol=1e-6)
    np.testing.assert_allclose(vit.model.explain([s.crop for s in samples]),
                               explained.attention, rtol=1e-5, atol=1e-6)


def test_the_newest_samples_map_is_shown_and_mismatched_maps_are_refused() -> None:
    from affect_core.types import FaceObservation, FaceWindow, FrameQuality, WindowPrediction

    def prediction(stamps: list[int], maps: np.ndarray | None) -> WindowPrediction:
        samples = [FaceObservation(t, "p1", BOX, (NAN, NAN, NAN), FrameQuality(1, 1, NAN, 1),
                                   np.zeros((1, 1), np.uint16), "mono16") for t in stamps]
        window = FaceWindow("p1", "ir", 0, 10, 240, 240, samples, 1, 1, NAN, (NAN, NAN, NAN))
        return WindowPrediction(window, ("happy",), np.ones((len(stamps), 1)),
                                np.full(len(stamps), NAN), np.full(len(stamps), NAN), "m", maps)

    maps = np.zeros((3, 2, 2), np.float32)
    maps[1, 0, 1] = 1.0  # sample 1 is the newest (stamp 9)
    state = OverlayState(OverlayConfig())
    state.add_box("p1", BOX, 9)
    state.add_emotion(_emotion("p1", 9e-9))  # the heatmap is drawn with a current estimate
    state.add_prediction(prediction([3, 9, 5], maps))
    assert state.faces(9)[0].attention == pytest.approx(np.array([[0.0, 1.0], [0.0, 0.0]]))
    state.add_prediction(prediction([3, 9, 5], None))  # a model without attention: unchanged
    assert state.faces(9)[0].attention is not None
    with pytest.raises(InputError):
        state.add_prediction(prediction([3, 9], maps))
