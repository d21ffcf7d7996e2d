"""Run an ASGI app with uvicorn on a loopback port in a background thread.

Used by the demo and the tests to start the GitHub simulator, the scripted model server
and the service on real sockets.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(min(timeout, 1.0))
        if self.thread.is_alive():
            # a connection is still open (a websocket, a request the app holds on purpose): stop waiting for it
            self.server.force_exit = True
            self.thread.join(timeout)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(app, host: str = "127.0.0.1", port: int | None = None, timeout: float = 15.0) -> RunningServer:
    """Start `app` and return once it accepts connections."""
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"server on {host}:{port} failed to start")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"server on {host}:{port} did not start within {timeout}s")
        time.sleep(0.01)
    return RunningServer(url=f"http://{host}:{port}", server=server, thread=thread)
