"""affect bench graph on the real launched graph: the probe sees every stage at work.

The graph runs for a short window; what is asserted is that it was measured (topics,
frame counts, latency, CPU per node), never how fast it was: the speed goals are
printed by ``affect bench graph``, not tested.
"""

from __future__ import annotations

import math

import pytest

from affect_core.graph_bench import GraphBenchResult, format_graph_bench, probe_graph

pytestmark = pytest.mark.ros

# The image topics and each stage's output, as the probe names them.
TOPICS = ("/ir/image_raw", "/stereo/left/image_rect", "/stereo/right/image_rect",
          "/stereo/depth", "/affect/faces", "/affect/face_windows",
          "/affect/window_predictions", "/emotion")
NODES = ("sim_rig", "stereo_depth", "face_tracker", "window_sync", "emotion_vit",
         "confidence_fusion")


@pytest.fixture(scope="module")
def result() -> GraphBenchResult:
    return probe_graph(duration_s=15.0, people=1)


def test_every_topic_flows_at_a_plausible_rate(result: GraphBenchResult) -> None:
    for topic in TOPICS:
        messages, rate_hz = result.topics[topic]
        assert messages > 0, topic
        assert 0.0 < rate_hz <= 130.0, (topic, rate_hz)
    # The stereo pair is rendered at 30 Hz against 120 Hz of IR; windows hop 0.5 s.
    assert result.topics["/stereo/depth"][1] < result.topics["/ir/image_raw"][1]
    assert result.topics["/emotion"][1] <= 2.5
    assert 0.0 < result.sensor_per_wall < 1.5


def test_windows_use_at_most_the_frames_they_expect(result: GraphBenchResult) -> None:
    assert result.frames_expected > 0
    assert 0 < result.frames_used <= result.frames_expected
    assert 0.0 < result.frames_fraction <= 1.0


def test_latency_is_measured(result: GraphBenchResult) -> None:
    for latency in (result.emotion_latency_ms, result.graph_latency_ms):
        assert latency["count"] > 0
        assert 0.0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
        assert math.isfinite(latency["max"])


def test_latency_is_split_by_stage(result: GraphBenchResult) -> None:
    hops = result.hops_ms
    assert list(hops) == ["face_tracker", "window_sync", "emotion_vit", "confidence_fusion"]
    counts = {hop: figures["count"] for hop, figures in hops.items()}
    # One person: every window's stage outputs reach the probe, but at most a few.
    assert len(set(counts.values())) == 1 and counts["window_sync"] > 0
    assert counts["window_sync"] >= 0.9 * result.graph_latency_ms["count"]
    # Every hop holds at least one message's delivery. Each window's hops add up to its
    # latency: no total exceeds the sum of the hops' maxima, and as the total is at least
    # each hop window by window, so is every percentile of it.
    total = result.split_total_ms
    assert total["count"] == counts["window_sync"]
    assert all(0.0 < f["p50"] <= f["max"] for f in hops.values())
    assert total["max"] <= sum(f["max"] for f in hops.values()) + 1e-6
    for figures in hops.values():
        assert all(total[q] >= figures[q] for q in ("p50", "p95", "p99", "max"))
    assert "split by stage" in format_graph_bench(result)


def test_the_probe_reads_stamp_and_person_of_serialised_windows() -> None:
    from affect_msgs.msg import FaceWindow, WindowPrediction
    from affect_ros.graph_probe import header_and_person
    from rclpy.serialization import serialize_message

    # Every frame_id length modulo 4, so every alignment of the person_id that follows.
    for frame_id in ("", "a", "ab", "abc", "ir_optical_frame"):
        for msg in (FaceWindow(), WindowPrediction()):
            msg.header.frame_id = frame_id
            msg.header.stamp.sec, msg.header.stamp.nanosec = 1_700_000_000, 123_456_789
            msg.person_id = f"person_{len(frame_id)}"
            assert header_and_person(serialize_message(msg)) == (
                1_700_000_000_123_456_789, f"person_{len(frame_id)}")


def test_each_node_process_is_found_and_spends_cpu(result: GraphBenchResult) -> None:
    cpu = {node.name: node.cpu_percent for node in result.nodes}
    for name in NODES:
        assert cpu.get(name, 0.0) > 0.0, (name, cpu)
    assert result.wall_s >= 14.0
    assert "launch exit status: 0" in " ".join(result.notes)


def test_the_table_names_every_topic_and_node(result: GraphBenchResult) -> None:
    table = format_graph_bench(result)
    for name in (*TOPICS, *NODES):
        assert name in table
    assert "p99" in table


def test_the_graph_on_a_looped_recording_runs_ir_camera_not_the_rig() -> None:
    replayed = probe_graph(duration_s=8.0, people=1, replay_s=1.0)
    cpu = {node.name: node.cpu_percent for node in replayed.nodes}
    assert cpu.get("ir_camera", 0.0) > 0.0 and "sim_rig" not in cpu, cpu
    # 1 s of recording looped through 8 s of probing: the stream went on past its end.
    messages, rate_hz = replayed.topics["/ir/image_raw"]
    assert messages > 2 * 120 and rate_hz > 0.0
    assert replayed.topics["/emotion"][0] > 0 and replayed.frames_used > 0
    table = format_graph_bench(replayed)
    assert "looping 1 s recorded from the rig" in table
    # The recording's stamps are not wall time: no latency is read from them.
    assert "(header stamp) ->" not in table and "closing frame's receipt" in table
