"""Find a running ``gpt4all-rag serve`` of an index, so the CLI can ask it instead of starting cold.

Why: a ``search`` run as its own process spends about two seconds importing Chroma,
opening it and loading the keyword index before a 50 ms search; a server has done all
that already. ``serve`` leaves a record (``serve.json``) in the index folder while it
listens on loopback without a token; ``search`` reads it, checks that the process is
alive, and sends the query over loopback HTTP. Anything unexpected (no record, a stale
one, a refused connection, an error reply) means the CLI searches on its own, so the
server is a speed-up and never a requirement.

Stdlib only: the point is to answer before any heavy import.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["RECORD_NAME", "find_server", "remote_search", "server_record"]

RECORD_NAME = "serve.json"
_LOOPBACK_PREFIXES = ("http://127.", "http://[::1]", "http://localhost")


def record_path(index_dir: Path) -> Path:
    """Where a server of ``index_dir`` leaves its record."""
    return Path(index_dir) / RECORD_NAME


@contextlib.contextmanager
def server_record(index_dir: Path, url: str) -> Any:
    """Leave a record of this process serving ``index_dir`` at ``url`` while the block runs.

    Removed at the end, unless another server has replaced it meanwhile. A folder
    that cannot be written only means the CLI does not find this server.
    """
    path = record_path(index_dir)
    record = {"url": url, "pid": os.getpid()}
    try:
        path.write_text(json.dumps(record), encoding="utf-8")
    except OSError:
        yield None
        return
    try:
        yield path
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()


def find_server(index_dir: Path) -> str | None:
    """The base URL of a live loopback server of ``index_dir``, or None."""
    try:
        record = json.loads(record_path(index_dir).read_text(encoding="utf-8"))
        url, pid = str(record["url"]), int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not url.startswith(_LOOPBACK_PREFIXES) or not _alive(pid):
        return None
    return url.rstrip("/")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive, and its server may still answer
    return True


def remote_search(url: str, body: dict[str, Any], timeout: float) -> list[dict[str, Any]] | None:
    """``POST /v1/search`` on the server at ``url``; the results, or None on any failure."""
    request = urllib.request.Request(
        f"{url}/v1/search",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        with opener.open(request, timeout=timeout) as reply:
            results = json.loads(reply.read().decode("utf-8"))["results"]
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
        return None
    return results if isinstance(results, list) else None
