"""Helpers for tests that start real servers (Chroma, llama_cpp.server, Streamlit)."""

from __future__ import annotations

import socket
import subprocess

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
