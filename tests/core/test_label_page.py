"""The labelling page: its server on 127.0.0.1, and labelling, undo and resume in Chromium."""

from __future__ import annotations

import http.client
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_core.errors import DataError
from affect_core.frontier.queue import QueueItem, read_labels, write_queue
from affect_core.label_page.server import LabelServer, LabelSession

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def make_queue(folder: Path) -> Path:
    """Five crops in two nodes: ranks 1, 3, 4 in node 10, ranks 2, 5 in node 20."""
    crops = folder / "crops"
    crops.mkdir()
    nodes = {1: 10, 2: 20, 3: 10, 4: 10, 5: 20}
    items = []
    for rank, node in nodes.items():
        image = np.full((64, 64), 20 * rank, np.uint8)
        cv2.circle(image, (32, 32), 8 + 3 * rank, 255, -1)
        cv2.imwrite(str(crops / f"c{rank}.png"), image)
        items.append(QueueItem(rank, node, node // 10, 0, f"c{rank}.png", "neutral", 0.5,
                               0.8, 9, 1.0 / rank, ""))
    write_queue(folder / "queue.csv", items, {"crops": str(crops),
                                              "labels": ["neutral", "happy", "sad"]})
    return folder / "queue.csv"


def request(server: LabelServer, method: str, path: str, body: object = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, data, {**sent, **(headers or {})})
    response = connection.getresponse()
    return response.status, response.read()


def test_server_listens_on_loopback_and_refuses_foreign_requests(tmp_path: Path) -> None:
    server = LabelServer(LabelSession(make_queue(tmp_path)), 0).start()
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        status, body = request(server, "GET", "/api/state")
        assert status == 200 and [i["rank"] for i in json.loads(body)["items"]] == [1, 3, 4,
                                                                                    2, 5]
        assert request(server, "GET", "/api/state", headers={"Host": "evil.example"})[0] == 403
        assert request(server, "POST", "/api/label", {"rank": 1, "label": "sad"},
                       {"Content-Type": "text/plain"})[0] == 415
        assert request(server, "POST", "/api/label", {"rank": 1, "label": "joyful"})[0] == 400
        assert request(server, "POST", "/api/label", {"rank": 99, "label": "sad"})[0] == 400
        assert request(server, "GET", "/crop/../../etc/passwd")[0] == 404
        status, png = request(server, "GET", "/crop/2")
        assert status == 200 and cv2.imdecode(np.frombuffer(png, np.uint8), 0).shape == (64, 64)
        assert not (tmp_path / "labels.csv").exists()
    finally:
        server.close()


def test_decisions_survive_a_restart_and_undo_works_on_the_file(tmp_path: Path) -> None:
    queue = make_queue(tmp_path)
    session = LabelSession(queue)
    assert session.decide(1, "happy") == 1
    assert session.decide(3, "sad", whole_node=True) == 3  # ranks 1, 3, 4 of node 10
    with pytest.raises(DataError, match="whole node"):
        session.decide(2, "skip", whole_node=True)
    again = LabelSession(queue)  # as after a crash: only the file is left
    labelled = {i["rank"]: i["label"] for i in again.state()["items"]}
    assert labelled == {1: "sad", 3: "sad", 4: "sad", 2: None, 5: None}
    assert again.undo() == 3
    labelled = {i["rank"]: i["label"] for i in again.state()["items"]}
    assert labelled == {1: "happy", 3: None, 4: None, 2: None, 5: None}
    assert [r.how for r in read_labels(tmp_path / "labels.csv")] == ["key"]


@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                    reason="Debian's chromium and chromium-driver are not installed "
                    "(apt-get install chromium chromium-driver)")
def test_page_in_headless_chromium_labels_undoes_and_resumes(tmp_path: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    queue = make_queue(tmp_path)
    labels_csv = tmp_path / "labels.csv"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    server = LabelServer(LabelSession(queue), 0).start()
    try:
        def done(count: int) -> None:
            WebDriverWait(driver, 10).until(lambda d: d.find_element(
                By.ID, "status").get_attribute("data-done") == str(count))

        def rank() -> str:
            return str(driver.find_element(By.ID, "where").get_attribute("data-rank"))

        def press(*keys: str) -> None:
            driver.find_element(By.TAG_NAME, "body").send_keys(*keys)

        driver.get(server.url)
        done(0)
        assert rank() == "1" and len(driver.find_elements(By.CSS_SELECTOR, "#node img")) == 3
        press("2")  # happy
        done(1)
        assert rank() == "3"
        press(Keys.SHIFT + "3")  # whole node is sad: ranks 1, 3, 4
        done(3)
        assert rank() == "2"
        rows = read_labels(labels_csv)
        assert [(r.path, r.label, r.how) for r in rows[-3:]] == [
            ("c1.png", "sad", "node"), ("c3.png", "sad", "node"), ("c4.png", "sad", "node")]
        press("u")  # undo the whole node at once
        done(1)
        assert rank() == "3" and len(read_labels(labels_csv)) == 1
        press("1")
        done(2)
        press("s")  # skip rank 4
        done(3)
        assert rank() == "2"
        driver.get("about:blank")  # the tab is closed, the server dies
        server.close()
        server = LabelServer(LabelSession(queue), 0).start()
        driver.get(server.url)  # a new page on a new server goes on where it stopped
        done(3)
        assert rank() == "2"
        driver.find_element(By.XPATH, "//button[starts-with(., 'happy')]").click()
        done(4)
        final = {r.path: (r.label, r.how) for r in read_labels(labels_csv)}
        assert final == {"c1.png": ("happy", "key"), "c3.png": ("neutral", "key"),
                         "c4.png": ("skip", "skip"), "c2.png": ("happy", "key")}
    finally:
        driver.quit()
        server.close()
