"""Helpers for tests that start real servers (Chroma, llama_cpp.server, Streamlit)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate a server, and kill it if it does not exit in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ConnectionRecorder:
    """A loopback listener that records the first line of every connection made to it.

    It answers nothing, so it stands for any address: an attacker's server that a page
    might load, or an HTTP proxy that a server's outbound requests would go through.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = int(self.listener.getsockname()[1])
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            with connection:
                connection.settimeout(2)
                try:
                    first = connection.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b""
                self.requests.append(first.decode("latin-1") or "(connected, sent nothing)")


@contextmanager
def recording_connections() -> Iterator[ConnectionRecorder]:
    """A ``ConnectionRecorder`` listening on a free loopback port while the block runs."""
    recorder = ConnectionRecorder()
    try:
        yield recorder
    finally:
        recorder.listener.close()
