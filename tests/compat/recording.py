"""A loopback HTTP server standing in for a vendor's API or a team's own service in the pinned-request tests: it
records each request (its method, path, lowercased headers and body) and answers with the JSON `answer(path)` gives."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def recording(answer: Callable[[str], Any], *, status: Callable[[str], int] = lambda path: 200,
              read: Callable[[bytes], Any] = json.loads) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(the server's URL, the requests it got so far: {"method", "path", "headers", "body"}). The body is `read(bytes)`:
    parsed JSON unless a test wants the text or bytes as sent; `status(path)` is the answer's HTTP status."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def respond(self):
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            got.append({"method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()}, "body": read(raw)})
            payload = json.dumps(answer(self.path)).encode()
            self.send_response(status(self.path))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = respond

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", got
    finally:
        httpd.shutdown()
        httpd.server_close()
