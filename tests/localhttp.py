"""A file server on 127.0.0.1 for the download tests (data layer and app): never the internet."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from typing import Iterator


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` by the last path segment; the path's start selects a behaviour:
    /lie (Content-Length larger than the body), /error (500), /norange (ignores Range).
    Honours ``Range: bytes=N-`` with 206; ``server.delay`` seconds between 8 KiB chunks."""

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        self.server.requests.append((self.path, self.headers.get("Range")))
        if self.path.startswith("/error"):
            self.send_error(500, "Internal Server Error")
            return
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        rng = self.headers.get("Range")
        if rng and not self.path.startswith("/norange"):
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        else:
            self.send_response(200)
        lie = self.path.startswith("/lie")
        self.send_header("Content-Length", str(len(body) + (5000 if lie else 0)))
        self.end_headers()
        try:
            for i in range(0, len(body), 8192):
                self.wfile.write(body[i:i + 8192])
                if self.server.delay:
                    time.sleep(self.server.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client cancelled
        if lie:
            self.close_connection = True


@contextlib.contextmanager
def serve(files: dict[str, bytes] | None = None) -> Iterator[http.server.ThreadingHTTPServer]:
    """A running server; ``.files``, ``.delay``, ``.requests`` and ``.base`` (no trailing slash)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.delay, srv.requests, srv.daemon_threads = dict(files or {}), 0.0, [], True
    t = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    t.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
