"""Start, await and stop a real Chroma server (``chroma run``); name per-test collections.

Plain functions without pytest, so that ``scripts/bench_server.py`` can use them too.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from tests.helpers.processes import LOOPBACK, free_port, stop_process

HOST = LOOPBACK
__all__ = ["HOST", "free_port", "start", "stop"]
STARTUP_SECONDS = 60.0


def heartbeat_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/api/v2/heartbeat", timeout=1) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_for_heartbeat(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not heartbeat_ok(port):
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"chroma run exited with {server.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"no Chroma heartbeat after {STARTUP_SECONDS:.0f} s:\n{tail}")
        time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    stop_process(server)


def start(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Run ``chroma run`` on a free loopback port with its data in ``root``; wait for it."""
    exe = Path(sys.executable).with_name("chroma")
    if not exe.is_file():
        raise RuntimeError(f"{exe} is missing: chromadb installs the `chroma` CLI beside python")
    port = free_port()
    log = root / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(exe), "run", "--path", str(root / "data"), "--host", HOST, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_heartbeat(server, port, log)
    except BaseException:
        stop(server)
        raise
    return server, port


def collection_for(test_name: str) -> str:
    """A valid, distinct Chroma collection name (3-63 chars of [a-zA-Z0-9._-]) for a test."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", test_name).strip("-")
    return f"t-{cleaned[:50]}-{zlib.crc32(test_name.encode()):08x}"
