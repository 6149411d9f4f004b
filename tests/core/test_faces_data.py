"""Labelled-face loaders, the label map and identity-disjoint splits, on generated fixtures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core import labels
from affect_core.data.faces import (
    FER2013_CLASSES,
    load_csv,
    load_faces,
    load_fer2013_csv,
    load_image_folder,
    vocabulary_label,
)
from affect_core.data.splits import identity_bootstrap, identity_split
from affect_core.errors import DataError


def _image(path: Path, value: int, size: int = 16) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((size, size), value, np.uint8))


def _folder(root: Path) -> Path:
    for name, count in (("happiness", 3), ("neutral", 2), ("fear", 1)):
        for i in range(count):
            _image(root / name / f"{name}_{i}.png", 10 * i + 5)
    return root


def test_image_folder_maps_folder_names_onto_the_vocabulary(tmp_path: Path) -> None:
    data = load_image_folder(_folder(tmp_path / "faces"))
    assert data.counts() == {labels.NEUTRAL: 2, labels.HAPPY: 3, labels.SCARED: 1}
    # Without identities every image is its own person.
    assert len(set(data.identities)) == len(data) == 6
    image = data.records[0].image()
    assert image.dtype == np.uint8 and image.shape == (16, 16)


def test_colour_images_are_read_as_grey(tmp_path: Path) -> None:
    path = tmp_path / "faces" / "sad" / "a.png"
    path.parent.mkdir(parents=True)
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 2] = 200  # red in OpenCV's BGR order
    assert cv2.imwrite(str(path), colour)
    grey = load_faces(tmp_path / "faces").records[0].image()
    assert grey.shape == (8, 8) and abs(int(grey[0, 0]) - 0.299 * 200) <= 1  # BT.601 luma


def test_labels_csv_carries_identity_and_subgroup(tmp_path: Path) -> None:
    root = tmp_path / "set"
    _image(root / "x" / "a.png", 1)
    _image(root / "x" / "b.png", 2)
    _image(root / "y" / "c.png", 3)
    (root / "labels.csv").write_text(
        "path,label,identity,subgroup,extra\n"
        "x/a.png,Anger,ann,lfw,1\nx/b.png,surprise,ann,lfw,2\ny/c.png,neutral,,web,3\n")
    data = load_faces(root)  # the folder's labels.csv wins over the folder names
    assert data.labels == [labels.ANGRY, labels.SURPRISED, labels.NEUTRAL]
    assert data.identities == ["ann", "ann", "c"]
    assert [r.subgroup for r in data.records] == ["lfw", "lfw", "web"]
    assert load_csv(root / "labels.csv").labels == data.labels


def test_fer2013_csv_integer_and_named_classes(tmp_path: Path) -> None:
    pixels = " ".join(str(v) for v in range(64))
    csv = tmp_path / "fer.csv"
    csv.write_text(f"emotion,pixels,Usage\n0,{pixels},Training\n6,{pixels},PublicTest\n"
                   f"happy,{pixels},Training\n")
    data = load_faces(csv)
    assert data.labels == [FER2013_CLASSES[0], FER2013_CLASSES[6], labels.HAPPY]
    assert [r.subgroup for r in data.records] == ["Training", "PublicTest", "Training"]
    image = data.records[0].image()
    assert image.shape == (8, 8) and int(image[7, 7]) == 63
    assert load_fer2013_csv(csv).labels == data.labels


@pytest.mark.parametrize(("row", "message"), [
    ("7,{p}", "not a FER2013 class"),
    ("1,1 2 3", "square image"),
    ("1,{p} x", "space-separated integers"),
    ("calm-ish,{p}", "unknown label"),
])
def test_fer2013_csv_errors_name_the_row(tmp_path: Path, row: str, message: str) -> None:
    csv = tmp_path / "fer.csv"
    csv.write_text("emotion,pixels\n" + row.format(p=" ".join(["9"] * 64)) + "\n")
    with pytest.raises(DataError, match=message) as err:
        load_fer2013_csv(csv)
    assert "row 2" in str(err.value)


def test_unknown_label_folder_is_an_error(tmp_path: Path) -> None:
    _image(tmp_path / "faces" / "grumpy" / "a.png", 1)
    with pytest.raises(DataError, match="unknown label 'grumpy'"):
        load_faces(tmp_path / "faces")


def test_empty_class_folder_is_an_error(tmp_path: Path) -> None:
    _image(tmp_path / "faces" / "happy" / "a.png", 1)
    (tmp_path / "faces" / "sad").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_faces(tmp_path / "faces")


def test_unreadable_image_is_an_error_on_read(tmp_path: Path) -> None:
    path = tmp_path / "faces" / "happy" / "broken.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a jpeg")
    data = load_faces(tmp_path / "faces")
    with pytest.raises(DataError, match="cannot read image"):
        data.records[0].image()


def test_csv_errors(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("file,label\nx.png,happy\n")
    with pytest.raises(DataError, match="missing column"):
        load_faces(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("path,label\nmissing.png,happy\n")
    with pytest.raises(DataError, match="not found"):
        load_faces(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("path,label\n")
    with pytest.raises(DataError, match="no labelled images"):
        load_faces(tmp_path / "c.csv")
    with pytest.raises(DataError, match="no labelled data"):
        load_faces(tmp_path / "nowhere")


def test_vocabulary_aliases() -> None:
    assert vocabulary_label(" Happiness ", "here") == labels.HAPPY
    assert vocabulary_label("fearful", "here") == labels.SCARED
    assert vocabulary_label("contempt", "here") == labels.CONTEMPT


def _identities(rng: np.random.Generator, people: int = 400) -> list[str]:
    return [f"person{int(i)}" for i in rng.integers(0, people, 3000)]


def test_identity_split_is_disjoint_complete_and_deterministic() -> None:
    names = _identities(np.random.default_rng(1))
    splits = identity_split(names, seed=3)
    everything = np.sort(np.concatenate(list(splits.values())))
    assert np.array_equal(everything, np.arange(len(names)))
    people = {k: {names[i] for i in v} for k, v in splits.items()}
    assert not people["train"] & people["val"]
    assert not people["train"] & people["test"] and not people["val"] & people["test"]
    again = identity_split(list(names), seed=3)
    assert all(np.array_equal(splits[k], again[k]) for k in splits)
    other = identity_split(names, seed=4)
    assert not np.array_equal(splits["test"], other["test"])
    # Shares of identities follow the fractions (400 people, binomial spread).
    shares = {k: len(v) / len(set(names)) for k, v in people.items()}
    assert abs(shares["train"] - 0.7) < 0.08 and abs(shares["test"] - 0.15) < 0.06


def test_identity_split_ignores_order_and_other_people() -> None:
    names = _identities(np.random.default_rng(2))
    first = identity_split(names, seed=0)
    test_people = {names[i] for i in first["test"]}
    grown = names[::-1] + [f"newcomer{i}" for i in range(500)]
    again = identity_split(grown, seed=0)
    assert test_people <= {grown[i] for i in again["test"]}


def test_heavily_photographed_people_go_to_training() -> None:
    names = ["star"] * 60 + [f"p{i}" for i in range(300)]
    for seed in range(5):
        splits = identity_split(names, seed=seed)
        assert set(range(60)) <= set(splits["train"].tolist())
    loose = [identity_split(names, seed=s, train_only_from=0) for s in range(20)]
    assert any(0 not in s["train"] for s in loose)


def test_identity_split_rejects_bad_fractions() -> None:
    with pytest.raises(DataError, match="summing to 1"):
        identity_split(["a"], fractions=(0.5, 0.5, 0.5))


def test_identity_bootstrap_draws_whole_people() -> None:
    names = ["a"] * 5 + ["b"] * 1 + ["c"] * 2
    for rows in identity_bootstrap(names, 50, seed=0):
        drawn = Counter(names[i] for i in rows)
        assert all(drawn[n] % Counter(names)[n] == 0 for n in drawn)
        assert sum(drawn[n] // Counter(names)[n] for n in drawn) == 3
