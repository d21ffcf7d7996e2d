"""A small manifest server on loopback (stdlib http.server): serves a manifest with an ETag, counts requests,
records telemetry posts, and can be taken down and brought back — the SDK's tests need nothing else."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = "acme/support-bot"
PATH = "prompts/support/system.md"


def manifest(version: str = "aaaaaaaaaaaa", content: str = "You are helpful.", rollout: dict | None = None,
             label: str = "production", commit: str = "c" * 40) -> dict:
    return {"repo": REPO, "label": label, "commit": commit, "etag": f'"{version}-{bool(rollout)}"',
            "prompts": [{"path": PATH, "version": version, "content": content, "format": "markdown",
                         "model": "gpt-4o-mini", "params": {"temperature": 0}, "rollout": rollout}]}


def split(percent: float, rid: int = 7) -> dict:
    return {"id": rid, "state": "running", "arms": [
        {"name": "control", "version": "aaaaaaaaaaaa", "percent": 100 - percent},
        {"name": "candidate", "version": "bbbbbbbbbbbb", "percent": percent, "content": "You are very helpful.",
         "commit": "d" * 40}]}


@dataclass
class Server:
    url: str
    manifests: dict = field(default_factory=dict)  # label → manifest
    requests: list = field(default_factory=list)  # (method, path, headers)
    traces: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    status: int = 200  # what /v1/traces and /v1/scores answer
    httpd: ThreadingHTTPServer | None = None
    port: int = 0

    def stop(self) -> None:
        self.httpd.shutdown()  # type: ignore[union-attr]
        self.httpd.server_close()  # type: ignore[union-attr]

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                server.requests.append(("GET", self.path, dict(self.headers)))
                label = self.path.split("label=")[-1]
                m = server.manifests.get(label)
                if m is None:
                    return self._send(404, json.dumps({"error": f"no label {label}"}).encode())
                if self.headers.get("If-None-Match") == m["etag"]:
                    return self._send(304, headers={"ETag": m["etag"]})
                self._send(200, json.dumps(m).encode(), {"ETag": m["etag"], "Content-Type": "application/json"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(("POST", self.path, dict(self.headers)))
                if server.status == 200:
                    (server.traces if self.path == "/v1/traces" else server.scores).append(body)
                self._send(server.status, b"{}", {"Content-Type": "application/json"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
