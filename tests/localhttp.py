"""A file server on 127.0.0.1 for the download tests (data layer and app): never the internet."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from typing import Iterator


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` by the last path segment; the path's start selects a behaviour:
    /lie (Content-Length larger than the body), /error (500), /norange (ignores Range),
    /stall (headers and one chunk, then nothing), /drip (one byte every ``server.drip`` s,
    forever), /endless (no Content-Length, the body repeated forever), /bigger (announces a
    Content-Length of 10 GB), /redirect (302 to itself, a loop).
    Honours ``Range: bytes=N-`` with 206; ``server.delay`` seconds between 8 KiB chunks.
    Handlers that never end stop when the server is shut down (``server.stop``)."""

    def log_message(self, *args):  # keep test output clean
        pass

    def _hostile(self, body: bytes) -> bool:
        """The misbehaving servers; True when one answered."""
        stop = self.server.stop
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if self.path.startswith(("/stall", "/drip", "/endless", "/bigger")):
            self.send_response(200)
            if self.path.startswith("/bigger"):
                self.send_header("Content-Length", str(10 * 10**9))
            elif not self.path.startswith("/endless"):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                if self.path.startswith("/stall"):
                    self.wfile.write(body[:8192])
                    self.wfile.flush()
                    stop.wait(60)
                elif self.path.startswith("/drip"):
                    for i in range(len(body)):
                        if stop.wait(self.server.drip):
                            break
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                else:
                    while not stop.is_set():
                        self.wfile.write(body or b"\0" * 8192)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should
            self.close_connection = True
            return True
        return False

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        self.server.requests.append((self.path, self.headers.get("Range")))
        if self.path.startswith("/error"):
            self.send_error(500, "Internal Server Error")
            return
        if self._hostile(self.server.files.get(name, b"")):
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
    """A running server; ``.files``, ``.delay``, ``.drip``, ``.requests``, ``.stop`` and ``.base``
    (no trailing slash)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.delay, srv.requests, srv.daemon_threads = dict(files or {}), 0.0, [], True
    srv.stop, srv.drip = threading.Event(), 0.02
    t = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    t.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield srv
    finally:
        srv.stop.set()  # ends the handlers that would never end
        srv.shutdown()
        srv.server_close()
