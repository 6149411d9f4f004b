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


"""The labelling page's server: the queue, the crops and the labels file behind one page.

It binds 127.0.0.1 and nothing else (raw frames stay on the host, DESIGN section 8),
answers only requests addressed to that host (a page elsewhere cannot reach it through
DNS rebinding) and takes decisions only as JSON posts (a form on another site cannot send
one). Every decision rewrites labels.csv atomically (affect_core.frontier.queue), so a
crash or a closed tab loses nothing: the page asks for the state on load and goes on at
the first crop without a decision. Undo removes the last decision from the file itself,
so it works across restarts; a 'whole node is X' decision is one undo.
"""

from __future__ import annotations

import json
import threading
import webbrowser
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from affect_core import labels as vocabulary
from affect_core.errors import ConfigError, DataError
from affect_core.frontier.embed import read_crop
from affect_core.frontier.queue import (SKIP, LabelRow, QueueItem, check_label,
                                        current_labels, read_labels, read_queue, write_labels)

HOST = "127.0.0.1"
STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 4096


class LabelSession:
    """The queue, its crops and the labels file; every method is safe across threads."""

    def __init__(self, queue_path: Path, labels_path: Path | None = None,
                 crops: Path | None = None) -> None:
        self.items, meta = read_queue(queue_path)
        if not self.items:
            raise DataError(f"{queue_path} queues no crops; run `affect frontier` with a "
                            "budget above 0")
        root = crops or (Path(meta["crops"]) if meta.get("crops") else None)
        if root is None or not root.is_dir():
            raise DataError(f"crops folder {root} of {queue_path} not found; give --crops")
        self.crops = root
        self.labels = tuple(meta.get("labels") or vocabulary.EXPRESSIONS)
        self.labels_path = labels_path or queue_path.with_name("labels.csv")
        self.rows = read_labels(self.labels_path, self.labels)
        self._by_rank = {item.rank: item for item in self.items}
        self._lock = threading.Lock()

    def state(self) -> dict[str, Any]:
        """Return what the page shows: labels, items in node order, standing decisions."""
        with self._lock:
            standing = current_labels(self.rows)
            order = sorted(self.items, key=lambda i: (min(j.rank for j in self.items
                                                          if j.node == i.node), i.rank))
            return {"labels": list(self.labels), "labels_file": str(self.labels_path),
                    "items": [{"rank": i.rank, "node": i.node, "row": i.node_row,
                               "col": i.node_col, "path": i.path, "predicted": i.predicted,
                               "confidence": i.confidence, "node_mass": i.node_mass,
                               "label": standing[i.path].label if i.path in standing else None}
                              for i in order],
                    "decisions": len(self.rows)}

    def decide(self, rank: int, label: str, whole_node: bool = False) -> int:
        """Record ``label`` for one crop, or for every queued crop of its node; rows written."""
        item = self._by_rank.get(rank)
        if item is None:
            raise DataError(f"no queued crop of rank {rank}")
        check_label(label, self.labels, "label page")
        if whole_node and label == SKIP:
            raise DataError("skip applies to one crop, not a whole node")
        at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        targets = [i for i in self.items if i.node == item.node] if whole_node else [item]
        how = "node" if whole_node else ("skip" if label == SKIP else "key")
        with self._lock:
            rows = self.rows + [LabelRow(i.path, label, i.node, how, at) for i in targets]
            write_labels(self.labels_path, rows)
            self.rows = rows
        return len(targets)

    def undo(self) -> int:
        """Remove the last decision (all rows of a 'whole node' one); rows removed."""
        with self._lock:
            if not self.rows:
                return 0
            last = self.rows[-1]
            keep = len(self.rows) - 1
            if last.how == "node":
                while keep > 0 and (self.rows[keep - 1].how, self.rows[keep - 1].at,
                                    self.rows[keep - 1].node) == ("node", last.at, last.node):
                    keep -= 1
            rows = self.rows[:keep]
            write_labels(self.labels_path, rows)
            removed, self.rows = len(self.rows) - keep, rows
            return removed

    def crop_png(self, rank: int) -> bytes:
        """Return the crop of ``rank`` as an 8-bit PNG stretched to its own range."""
        item: QueueItem | None = self._by_rank.get(rank)
        if item is None:
            raise DataError(f"no queued crop of rank {rank}")
        image = read_crop(self.crops / item.path).astype(np.float32)
        lo, hi = float(image.min()), float(image.max())
        image = (image - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(image)
        ok, data = cv2.imencode(".png", image.astype(np.uint8))
        if not ok:
            raise DataError(f"cannot encode {item.path}")
        return bytes(data.tobytes())


def _handler(session: LabelSession) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "affect-label"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the page polls nothing; each request line would only be noise

        def _host_ok(self) -> bool:
            port = self.server.server_address[1]
            return self.headers.get("Host", "") in (f"{HOST}:{port}", f"localhost:{port}")

        def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802
            if not self._host_ok():
                return self._json({"error": "wrong host"}, HTTPStatus.FORBIDDEN)
            path = self.path.split("?", 1)[0]
            try:
                if path == "/":
                    return self._send(HTTPStatus.OK, (STATIC / "index.html").read_bytes(),
                                      "text/html; charset=utf-8")
                if path == "/api/state":
                    return self._json(session.state())
                if path.startswith("/crop/") and path[6:].isdigit():
                    return self._send(HTTPStatus.OK, session.crop_png(int(path[6:])),
                                      "image/png")
            except DataError as err:
                return self._json({"error": str(err)}, HTTPStatus.NOT_FOUND)
            return self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

        def do_POST(self) -> None:  # noqa: N802
            if not self._host_ok():
                return self._json({"error": "wrong host"}, HTTPStatus.FORBIDDEN)
            if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                return self._json({"error": "JSON only"}, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            length = int(self.headers.get("Content-Length", "0") or 0)
            if length > MAX_BODY_BYTES:
                return self._json({"error": "too large"}, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/api/label":
                    rows = session.decide(int(body["rank"]), str(body["label"]),
                                          bool(body.get("whole_node", False)))
                elif self.path == "/api/undo":
                    rows = session.undo()
                else:
                    return self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
            except (DataError, KeyError, TypeError, ValueError) as err:
                return self._json({"error": str(err)}, HTTPStatus.BAD_REQUEST)
            return self._json({"rows": rows, **session.state()})

    return Handler


class LabelServer:
    """The page's HTTP server on 127.0.0.1, run in a background thread."""

    def __init__(self, session: LabelSession, port: int = 0) -> None:
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), _handler(session))
        except OSError as err:
            raise ConfigError(f"cannot listen on {HOST}:{port}: {err}; pick another --port "
                              "(0 picks a free one)") from err
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://{HOST}:{self.port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> LabelServer:
        """Start serving in the background; returns self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def serve(queue: Path, labels: Path | None, crops: Path | None, port: int,
          open_browser: bool) -> int:
    """Serve the page until interrupted (``affect label``)."""
    session = LabelSession(queue, labels, crops)
    server = LabelServer(session, port).start()
    done = sum(1 for i in session.state()["items"] if i["label"] is not None)
    print(f"affect label: {server.url} ({len(session.items)} queued crops, {done} decided; "
          f"writing {session.labels_path}); keys 1-{len(session.labels)} label, Shift+key "
          "labels the whole node, s skips, u undoes; Ctrl-C ends", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
