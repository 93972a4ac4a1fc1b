"""What the serve tests share: the question, the scripted reply, the token, the console script."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

__all__ = ["AUTH", "CONTENT", "REACTOR", "REPLY", "SCRIPT", "TOKEN", "Serving", "wait_healthy"]

REACTOR = "What is the core temperature of the Zorblax reactor?"
REPLY = "The core runs at 451 kelvin [1]."
# REPLY as the OpenAI route sends it: the citation a footnote, the Markdown escaped.
CONTENT = "The core runs at 451 kelvin [^1]\\.\n\n[^1]: From manual\\.pdf\\, page 2"
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# The console script installed beside this Python.
SCRIPT = str(Path(sys.executable).with_name("gpt4all-rag"))

# The ``serving`` fixture (tests/server/conftest.py): ``with serving(llm=..., **settings) as url``.
Serving = Callable[..., AbstractContextManager[str]]


def wait_healthy(url: str, process: subprocess.Popen[str], timeout_s: float = 90.0) -> None:
    """Wait until ``serve`` at ``url`` answers /health; fail if its process exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("serve did not start")
