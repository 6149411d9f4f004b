"""affect report: one offline HTML page, every figure present, captioned and drawn.

The results are made in the test by the evaluation code itself (a few rig crops through
``affect eval model``'s figures; a few real photographs through ``affect eval faces``'
where the photographs are here), never written by hand.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from affect_core.cli import main
from affect_core.errors import DataError
from affect_core.model import scoring
from affect_core.model.runtime import RIG_MODEL, EmotionModel
from affect_core.photo_eval import write_json
from affect_core.training.dataset import render_crops

from .test_photo_eval import REAL_FACES

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")

from affect_core.report import page  # noqa: E402  (needs matplotlib)

PANELS_PER_SET = 5  # reliability, coverage, confusion, recall, subgroup


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder: the rig model on 60 crops per preset, and photographs if here."""
    folder = tmp_path_factory.mktemp("results")
    model = EmotionModel(RIG_MODEL)
    splits = {preset: render_crops(60, preset, seed, 64, progress=False)
              for preset, seed in scoring.TEST_SEEDS.items()}
    write_json(scoring.model_json(model, splits, draws=30, latency_repeats=40),
               folder / "model_rig.json")
    return folder


def test_page_has_every_panel_captioned_with_its_data(results: Path, tmp_path: Path) -> None:
    path = page.write_report(tmp_path, page.load_results([results]))
    text = path.read_text(encoding="utf-8")
    figures = re.findall(r"<figure id='figure-(\d+)' data-kind='(\w+)'>"
                         r"<img src='data:image/png;base64,([A-Za-z0-9+/=]+)'.*?"
                         r"<figcaption>(.*?)</figcaption>", text)
    kinds = [k for _, k, _, _ in figures]
    # Two rig splits with subgroups on both, one latency histogram.
    assert kinds.count("reliability") == kinds.count("confusion") == 2
    assert kinds.count("subgroup") == 2 and kinds.count("latency") == 1
    assert len(figures) == 2 * PANELS_PER_SET + 1
    for _, kind, png, caption in figures:
        assert len(png) > 2000, kind  # a drawn PNG, not an empty image
        assert "rig" in caption and ("synthetic" in caption or kind == "latency"), caption
    heterogeneous = [c for _, k, _, c in figures if "heterogeneous" in c and k == "recall"]
    assert heterogeneous and "crops" in heterogeneous[0]
    # Self-contained: nothing fetched from anywhere.
    assert not re.search(r"(src|href)=['\"](https?:|//)", text)
    assert "<script" not in text


def test_not_a_result_is_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"kind": "soak"}), encoding="utf-8")
    with pytest.raises(DataError, match="other.json.*not an affect evaluation result"):
        page.load_results([bad])
    with pytest.raises(DataError, match="no evaluation results"):
        page.write_report(tmp_path / "out", [])
    assert main(["report", "--out", str(tmp_path / "out"), "--results",
                 str(tmp_path / "missing")]) == 2


@pytest.mark.skipif(not (REAL_FACES / "labels.csv").is_file(),
                    reason=f"the labelled photographs are not here ({REAL_FACES})")
def test_user_photographs_are_scored_and_reported(results: Path, tmp_path: Path) -> None:
    rows = list(csv.DictReader((REAL_FACES / "labels.csv").open(encoding="utf-8")))
    subset = tmp_path / "mine.csv"
    with subset.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "identity", "subgroup"])
        for label in ("neutral", "happy"):
            for r in [r for r in rows if r["label"] == label][:4]:
                writer.writerow([str(REAL_FACES / r["path"]), label, r["identity"],
                                 r["source"]])
    out = tmp_path / "report"
    assert main(["report", "--out", str(out), "--results", str(results), "--data",
                 str(subset), "--quiet"]) == 0
    saved = json.loads((out / "user_mine.json").read_text(encoding="utf-8"))
    assert saved["kind"] == "faces" and saved["photographs"] == 8
    text = (out / "index.html").read_text(encoding="utf-8")
    assert "on photographs: " in text and "not IR" in text


def _browser() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed "
                    "(apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed (the test extra)")
    return chromium, driver


def test_page_opens_in_headless_chromium_without_errors(results: Path, tmp_path: Path) -> None:
    chromium, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    path = page.write_report(tmp_path, page.load_results([results]))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.get(path.as_uri())
        drawn = browser.execute_script(
            "return Array.from(document.querySelectorAll('figure')).map(f => {"
            "const i = f.querySelector('img'), c = f.querySelector('figcaption');"
            "return [i.complete && i.naturalWidth > 0, c ? c.textContent : ''];});")
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        browser.quit()
    assert len(drawn) == 2 * PANELS_PER_SET + 1
    assert all(ok for ok, _ in drawn)
    assert all(caption.startswith("Figure ") and ("Model" in caption or "latency" in caption)
               for _, caption in drawn)
    assert errors == []
