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

"""Labelled face photographs in the layouts labs and public data sets use.

Three layouts, chosen by :func:`load_faces` from what the path holds:

- ImageFolder: ``DIR/<label>/<image>`` (any depth below the label folder); with a
  ``labels.csv`` in DIR, that file is read instead (it names identities).
- CSV: a file with columns ``path`` and ``label`` (paths relative to the file), and
  optionally ``identity`` and ``subgroup``; other columns are ignored.
- FER2013-style CSV: columns ``emotion`` (0-6 or a name) and ``pixels`` (space-separated
  grey values of a square image), optionally ``Usage``; images stay in memory.

Labels go through :data:`LABEL_ALIASES` onto the Emotion vocabulary (affect_core.labels),
as model adapters map their labels; an unknown label is an error naming the file and row,
not a silently dropped image. ``identity`` groups photographs of one person: splits are
made by identity (affect_core.data.splits), so no person is in two splits. Without an
identity column every image is its own identity, which is right only when each person
appears once.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affect_core import labels as vocab
from affect_core.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm")
LABELS_CSV = "labels.csv"

# Names used by public data sets (FER2013, AffectNet, RAF-DB, CK+, the crowd-labelled
# facial_expressions set, face-api) for the Emotion vocabulary's labels.
LABEL_ALIASES: dict[str, str] = {
    **{name: name for name in vocab.EXPRESSIONS},
    "anger": vocab.ANGRY, "disgust": vocab.DISGUSTED, "fear": vocab.SCARED,
    "fearful": vocab.SCARED, "afraid": vocab.SCARED, "happiness": vocab.HAPPY,
    "joy": vocab.HAPPY, "sadness": vocab.SAD, "surprise": vocab.SURPRISED,
    "neutrality": vocab.NEUTRAL, "calm": vocab.NEUTRAL, "boredom": vocab.BORED,
    "excitement": vocab.EXCITED,
}
# FER2013's integer classes.
FER2013_CLASSES = (vocab.ANGRY, vocab.DISGUSTED, vocab.SCARED, vocab.HAPPY, vocab.SAD,
                   vocab.SURPRISED, vocab.NEUTRAL)


@dataclass(frozen=True)
class FaceRecord:
    """One labelled photograph: where it is (or its pixels), its label and its person."""

    source: str  # file path, or "<csv>:<row>" for in-memory pixels
    label: str  # an Emotion vocabulary name
    identity: str
    subgroup: str = ""
    pixels: npt.NDArray[np.uint8] | None = None

    def image(self) -> npt.NDArray[np.uint8]:
        """Read the photograph as an 8-bit grey array (colour images are converted)."""
        if self.pixels is not None:
            return self.pixels
        data = cv2.imread(self.source, cv2.IMREAD_GRAYSCALE)
        if data is None or data.size == 0:
            raise DataError(f"cannot read image {self.source}: missing, empty or not an "
                            "image OpenCV decodes (JPEG, PNG, BMP, TIFF, PGM)")
        return np.asarray(data, np.uint8)


@dataclass(frozen=True)
class LabelledFaces:
    """A labelled face data set: its records and where it came from."""

    records: tuple[FaceRecord, ...]
    origin: str

    def __len__(self) -> int:
        return len(self.records)

    @property
    def labels(self) -> list[str]:
        """List each record's label, in record order."""
        return [r.label for r in self.records]

    @property
    def identities(self) -> list[str]:
        """List each record's identity, in record order."""
        return [r.identity for r in self.records]

    def counts(self) -> dict[str, int]:
        """Count images per label, in vocabulary order."""
        found = Counter(self.labels)
        return {name: found[name] for name in vocab.EXPRESSIONS if found[name]}

    def subset(self, indices: Iterable[int]) -> LabelledFaces:
        """Keep the records at ``indices``, in that order."""
        return LabelledFaces(tuple(self.records[i] for i in indices), self.origin)

    def without(self, names: Sequence[str]) -> LabelledFaces:
        """Drop the records whose label is in ``names`` (e.g. classes too rare to score)."""
        return LabelledFaces(tuple(r for r in self.records if r.label not in names),
                             self.origin)


def vocabulary_label(name: str, where: str) -> str:
    """Map ``name`` onto the Emotion vocabulary, or raise a DataError saying where it was."""
    key = name.strip().lower()
    if key in LABEL_ALIASES:
        return LABEL_ALIASES[key]
    known = ", ".join(sorted(LABEL_ALIASES))
    raise DataError(f"{where}: unknown label {name!r}; use one of {known} "
                    "(or rename the folder or column value)")


def load_faces(path: Path, subgroup_column: str = "subgroup") -> LabelledFaces:
    """Load ``path`` in whichever layout it is (see the module docstring).

    ``subgroup_column`` names the CSV column whose values are the subgroups that figures
    are broken down by (e.g. ``source``); an absent column leaves subgroups empty.
    """
    if path.is_dir():
        listing = path / LABELS_CSV
        return (load_csv(listing, subgroup_column) if listing.is_file()
                else load_image_folder(path))
    if not path.is_file():
        raise DataError(f"no labelled data at {path}: give a folder of <label>/<image> "
                        "or a CSV file")
    header = _header(path)
    if "pixels" in header:
        return load_fer2013_csv(path)
    return load_csv(path, subgroup_column)


def load_image_folder(root: Path) -> LabelledFaces:
    """Load the images under ``root/<label>/``: the label folder names the label."""
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    records = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = vocabulary_label(folder.name, f"folder {folder}")
        images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise DataError(f"class folder {folder} holds no images "
                            f"({', '.join(IMAGE_SUFFIXES)}); remove it or add images")
        records += [FaceRecord(str(p), label, p.stem) for p in images]
    return _checked(records, str(root))


def load_csv(path: Path, subgroup_column: str = "subgroup") -> LabelledFaces:
    """Load rows of ``path,label[,identity][,subgroup]``, paths relative to the CSV."""
    header = _header(path)
    missing = [c for c in ("path", "label") if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; a labels CSV needs path and "
                        "label, and may have identity and subgroup")
    records = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row_no, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path}, row {row_no}"
            image = path.parent / (row["path"] or "")
            if not row["path"] or not image.is_file():
                raise DataError(f"{where}: image {row['path']!r} not found under "
                                f"{path.parent}")
            label = vocabulary_label(row["label"] or "", where)
            identity = (row.get("identity") or "").strip() or image.stem
            records.append(FaceRecord(str(image), label, identity,
                                      (row.get(subgroup_column) or "").strip()))
    return _checked(records, str(path))


def load_fer2013_csv(path: Path) -> LabelledFaces:
    """Load FER2013's layout: ``emotion`` (0-6 or a name), ``pixels``, maybe ``Usage``."""
    header = _header(path)
    if "emotion" not in header:
        raise DataError(f"{path}: a FER2013-style CSV needs an 'emotion' column")
    records = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row_no, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path}, row {row_no}"
            records.append(FaceRecord(f"{path}:{row_no}", _fer_label(row["emotion"], where),
                                      f"{path.stem}:{row_no}",
                                      (row.get("Usage") or "").strip(),
                                      _pixels(row["pixels"] or "", where)))
    return _checked(records, str(path))


def _fer_label(value: str, where: str) -> str:
    text = value.strip()
    if text.isdigit():
        index = int(text)
        if index >= len(FER2013_CLASSES):
            raise DataError(f"{where}: emotion {index} is not a FER2013 class (0-6)")
        return FER2013_CLASSES[index]
    return vocabulary_label(text, where)


def _pixels(text: str, where: str) -> npt.NDArray[np.uint8]:
    try:
        values = np.array([int(v) for v in text.split()], np.int64)
    except ValueError as err:
        raise DataError(f"{where}: pixels must be space-separated integers") from err
    side = int(round(np.sqrt(len(values))))
    if side < 8 or side * side != len(values):
        raise DataError(f"{where}: {len(values)} pixel values do not make a square image "
                        "of at least 8x8")
    if values.min() < 0 or values.max() > 255:
        raise DataError(f"{where}: pixel values must lie in 0-255")
    return values.astype(np.uint8).reshape(side, side)


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            first = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
    return [name.strip() for name in first]


def _checked(records: list[FaceRecord], origin: str) -> LabelledFaces:
    if not records:
        raise DataError(f"{origin} holds no labelled images")
    return LabelledFaces(tuple(records), origin)
