"""The SOM frontier: choice on known clusters, queue and labels formats, the command."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core.cli import main
from affect_core.errors import DataError
from affect_core.frontier.queue import (LabelRow, QueueItem, current_labels, read_labels,
                                        read_queue, write_labels, write_queue)
from affect_core.frontier.som import SomConfig, choose, fit_map

pytest.importorskip("minisom")

SIZES = (400, 300, 200, 60, 40)


def blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five well-separated Gaussian clusters of unequal size in 16 dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 6.0, (len(SIZES), 16))
    x = np.concatenate([c + rng.normal(0.0, 1.0, (n, 16)) for c, n in zip(centres, SIZES)])
    return x, np.repeat(np.arange(len(SIZES)), SIZES)


def test_map_nodes_do_not_mix_clusters() -> None:
    x, truth = blobs()
    fitted = fit_map(x, SomConfig(seed=0))
    for node in np.unique(fitted.node):
        assert len(np.unique(truth[fitted.node == node])) == 1


def test_first_labels_cover_every_cluster_even_the_small_ones() -> None:
    x, truth = blobs()
    fitted = fit_map(x, SomConfig(seed=0))
    choice = choose(fitted, np.full(len(x), 0.5), 8)
    assert len(choice.index) == len(set(choice.index)) == 8
    assert set(truth[choice.index[:5]]) == set(range(len(SIZES)))  # one label per cluster
    # Random sampling of 8 of these 1000 crops misses the 40-crop cluster 72 % of the time.
    rng = np.random.default_rng(1)
    covered = [len(set(truth[rng.choice(len(x), 8, replace=False)])) for _ in range(200)]
    assert np.mean(np.array(covered) == len(SIZES)) < 0.2


def test_labelled_clusters_are_covered_and_uncertainty_draws_labels() -> None:
    x, truth = blobs()
    fitted = fit_map(x, SomConfig(seed=0))
    labelled = np.flatnonzero(truth <= 2)[::20]
    choice = choose(fitted, np.full(len(x), 0.5), 6, labelled=labelled)
    assert not set(choice.index) & set(labelled)
    assert set(truth[choice.index][:2]) == {3, 4}
    uncertain = np.where(truth == 1, 1.0, 0.0)
    picks = truth[choose(fitted, uncertain, 20).index]
    assert np.sum(picks == 1) >= 8  # 30 % of the crops, most of the uncertainty


def test_subgroups_are_balanced_in_the_queue() -> None:
    x, truth = blobs()
    fitted = fit_map(x, SomConfig(seed=0))
    rng = np.random.default_rng(2)
    groups = ["b" if v < 0.1 else "a" for v in rng.random(len(x))]
    plain = choose(fitted, np.full(len(x), 0.5), 40)
    balanced = choose(fitted, np.full(len(x), 0.5), 40, subgroups=groups)
    share = [np.mean([groups[i] == "b" for i in c.index]) for c in (plain, balanced)]
    assert share[1] > share[0] + 0.15 and share[1] >= 0.3


def test_queue_and_labels_round_trip_atomically(tmp_path: Path) -> None:
    items = [QueueItem(1, 3, 0, 3, "a/x.png", "happy", 0.91, 0.2, 12, 1.5, "lfw"),
             QueueItem(2, 7, 1, 2, "b.png", "", float("nan"), 1.0, 4, 0.7)]
    write_queue(tmp_path / "queue.csv", items, {"crops": "/data", "side": 4})
    read, meta = read_queue(tmp_path / "queue.csv")
    assert read[0] == items[0] and read[1].path == "b.png" and np.isnan(read[1].confidence)
    assert meta == {"crops": "/data", "side": 4}
    rows = [LabelRow("a/x.png", "sad", 3, "key", "t0"), LabelRow("b.png", "skip", 7, "skip", "t1"),
            LabelRow("a/x.png", "happy", 3, "node", "t2")]
    write_labels(tmp_path / "labels.csv", rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv", "queue.csv",
                                                          "queue.json"]
    standing = current_labels(read_labels(tmp_path / "labels.csv"))
    assert standing["a/x.png"].label == "happy" and standing["b.png"].how == "skip"
    assert read_labels(tmp_path / "missing.csv") == []


def test_a_label_outside_the_vocabulary_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("path,label,node,how,at\na.png,happy,1,key,t\nb.png,joyful,1,key,t\n")
    with pytest.raises(DataError, match="line 3.*joyful"):
        read_labels(path)
    (tmp_path / "q.csv").write_text("rank,path\n1,a.png\n")
    with pytest.raises(DataError, match="columns.*missing"):
        read_queue(tmp_path / "q.csv")


def _write_crops(folder: Path, count: int) -> None:
    """Crops of two kinds (bright disc on dark, dark bars on bright) with noise."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:64, :64]
    for i in range(count):
        if i % 2:
            image = 40 + 160 * (((xx - 32) ** 2 + (yy - 32) ** 2) < 400)
        else:
            image = 200 - 150 * ((yy // 8) % 2)
        image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"crop_{i:03d}.png"), image)


def test_frontier_command_writes_queue_sheets_and_map(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    crops = tmp_path / "crops"
    crops.mkdir()
    _write_crops(crops, 60)
    labels = tmp_path / "labels.csv"
    write_labels(labels, [LabelRow("crop_000.png", "neutral", 0, "key", "t")])
    assert main(["frontier", "--crops", str(crops), "--budget", "12", "--out",
                 str(tmp_path / "out"), "--labels", str(labels)]) == 0
    assert "12 crops" in capsys.readouterr().out
    items, meta = read_queue(tmp_path / "out" / "queue.csv")
    assert [i.rank for i in items] == list(range(1, 13))
    assert "crop_000.png" not in {i.path for i in items}
    assert meta["crops_total"] == 60 and meta["already_labelled"] == 1
    kinds = [int(i.path[5:8]) % 2 for i in items]
    assert sum(kinds) >= 9  # the labelled crop's kind (bars, even) is covered already
    assert all(i.predicted in meta["labels"] and 0 < i.confidence <= 1 for i in items)
    sheets = sorted((tmp_path / "out" / "contact_sheets").glob("node_*.png"))
    assert len(sheets) == len({i.node for i in items})
    picture = cv2.imread(str(tmp_path / "out" / "map.png"))
    assert picture is not None and picture.shape[0] > 100
    assert main(["frontier", "--crops", str(crops), "--budget", "12", "--out",
                 str(tmp_path / "fresh")]) == 0
    fresh = [int(i.path[5:8]) % 2 for i in read_queue(tmp_path / "fresh" / "queue.csv")[0]]
    assert 2 <= sum(fresh) <= 10  # both kinds, with no label yet
    with (tmp_path / "out" / "queue.csv").open() as handle:
        assert next(csv.reader(handle))[:5] == ["rank", "node", "node_row", "node_col", "path"]


def test_labels_saved_reads_the_random_curve_at_equal_accuracy() -> None:
    from affect_core.frontier.curves import labels_saved

    random = [(10, 0.5), (20, 0.6), (40, 0.7)]
    rows = labels_saved([(10, 0.6), (10, 0.65), (20, 0.9), (10, 0.4)], random)
    assert rows[0]["random_labels"] == pytest.approx(20.0)
    assert rows[0]["saved"] == pytest.approx(0.5)
    assert rows[1]["random_labels"] == pytest.approx(800 ** 0.5)
    assert rows[2]["saved"] is None and rows[3]["saved"] is None  # beyond the random curve


def test_probe_curves_show_the_frontier_ahead_of_random_on_known_clusters() -> None:
    from affect_core.frontier.curves import Pool, curve, standardised

    x, y = blobs(0)
    x_test, y_test = blobs(0)  # same centres (same seed), fresh noise below
    x_test = x_test + np.random.default_rng(9).normal(0.0, 0.5, x_test.shape)
    pool_x, test_x = standardised(x, x_test)
    pool = Pool("blobs", pool_x, y, np.full(len(x), 0.5), test_x, y_test,
                ["a" if i % 2 else "b" for i in range(len(y_test))], len(SIZES))
    som = [curve(pool, "som", (5, 10), seed)[0]["accuracy"] for seed in range(3)]
    random = [curve(pool, "random", (5, 10), seed)[0]["accuracy"] for seed in range(3)]
    assert min(som) > 0.95 and np.mean(som) > np.mean(random) + 0.1
