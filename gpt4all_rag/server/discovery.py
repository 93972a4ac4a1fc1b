"""Find a running ``gpt4all-rag serve`` of an index, so the CLI can ask it instead of starting cold.

Why: a ``search`` run as its own process spends about two seconds importing Chroma,
opening it and loading the keyword index before a 50 ms search; a server has done all
that already. ``serve`` leaves a record (``serve.json``) in the index folder while it
listens on loopback, and its bearer token in ``serve.token``, a file only its owner can
read; ``search`` reads both, checks that the process is alive, and sends the query over
loopback HTTP. Anything unexpected (no record, a stale one, no token, a refused
connection, an error reply) means the CLI searches on its own, so the server is a
speed-up and never a requirement.

Stdlib only: the point is to answer before any heavy import.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.atomic import write_atomic
from ingest.lock import pid_alive

__all__ = [
    "RECORD_NAME",
    "TOKEN_NAME",
    "find_server",
    "loopback_url",
    "read_token",
    "record_path",
    "remote_search",
    "server_record",
    "token_file",
    "token_path",
    "write_token",
]

RECORD_NAME = "serve.json"
TOKEN_NAME = "serve.token"


def record_path(index_dir: Path) -> Path:
    """Where a server of ``index_dir`` leaves its record."""
    return Path(index_dir) / RECORD_NAME


def token_path(index_dir: Path) -> Path:
    """Where a server of ``index_dir`` leaves its bearer token (owner-only)."""
    return Path(index_dir) / TOKEN_NAME


@contextlib.contextmanager
def server_record(index_dir: Path, url: str) -> Any:
    """Leave a record of this process serving ``index_dir`` at ``url`` while the block runs.

    Removed at the end, unless another server has replaced it meanwhile. A folder
    that cannot be written only means the CLI does not find this server.
    """
    path = record_path(index_dir)
    record = {"url": url, "pid": os.getpid()}
    try:
        write_atomic(path, json.dumps(record), mode=0o600)
    except OSError:
        yield None
        return
    try:
        yield path
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()


def write_token(index_dir: Path, token: str) -> Path:
    """Write ``token`` to ``index_dir/serve.token``, readable by this user only.

    The file is created 0600 under a name of its own (``O_EXCL``: never a file or
    link someone else prepared), then renamed over the old one, so no other user
    can read it at any moment.

    Raises:
        OSError: The index folder cannot be written.
    """
    path = token_path(index_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new index folder: private
    write_atomic(path, token + "\n", mode=0o600)
    return path


@contextlib.contextmanager
def token_file(index_dir: Path, token: str) -> Any:
    """:func:`write_token` for the duration of the block; removed after, if still ours."""
    path = write_token(index_dir, token)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            if path.read_text(encoding="utf-8").strip() == token:
                path.unlink()


def read_token(index_dir: Path) -> str | None:
    """The token a server of ``index_dir`` left, or None (none, unreadable, not ours)."""
    path = token_path(index_dir)
    if not _private_and_ours(path):
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    return token or None


def find_server(index_dir: Path) -> str | None:
    """The base URL of a live loopback server of ``index_dir``, or None."""
    path = record_path(index_dir)
    if not _private_and_ours(path):
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        url, pid = str(record["url"]), int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    base = loopback_url(url)
    if base is None or not pid_alive(pid):
        return None
    return base


def loopback_url(url: str) -> str | None:
    """``url`` without a trailing slash if it is ``http://`` + a loopback host + a port, else None.

    Parsed, not prefix-matched: ``http://127.0.0.1.attacker.example`` and
    ``http://127.0.0.1:80@evil`` name other machines.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme != "http" or port is None or not 0 < port < 65536:
        return None
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        return None
    # Exactly host:port, nothing else (no user info, nothing around the brackets).
    written = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if parts.netloc.lower() != written or not _loopback_host(host):
        return None
    return f"http://{parts.netloc}"


def _loopback_host(host: str) -> bool:
    """127.0.0.0/8 written as four decimal numbers, ``::1``, or ``localhost``."""
    if host == "localhost":
        return True
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host) == ipaddress.IPv6Address("::1")
        except ValueError:
            return False
    try:
        address = ipaddress.IPv4Address(host)  # refuses 0x7f.1, 2130706433, 127.1
    except ValueError:
        return False
    return address.is_loopback


def _private_and_ours(path: Path) -> bool:
    """Whether ``path`` is a regular file of this user that no one else may change.

    Another local user who could write the record could send the CLI's queries
    (and the token) to a listener of their own.
    """
    if not hasattr(os, "getuid"):
        return path.is_file()
    try:
        info = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def remote_search(
    url: str, body: dict[str, Any], timeout: float, token: str
) -> list[dict[str, Any]] | None:
    """``POST /v1/search`` on the server at ``url``; the results, or None on any failure."""
    request = urllib.request.Request(
        f"{url}/v1/search",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # loopback: no proxy
        _NoRedirect(),  # the token goes to this server and nowhere else
    )
    try:
        with opener.open(request, timeout=timeout) as reply:
            results = json.loads(reply.read().decode("utf-8"))["results"]
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
        return None
    return results if isinstance(results, list) else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a redirect is an error reply, and the CLI then searches alone."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Follow no redirect."""
        return None
