"""Test helpers for gpt4all_rag.models: GGUF files written by hand, a local HTTP file server.

The server runs on 127.0.0.1 in a thread; it answers HTTP Range requests like a
CDN, can redirect, and can be told to cut a download short or to ignore ranges, so
resuming is tested against real sockets and real ``httpx``, never a mock. The
download code refuses loopback addresses and plain http by default; the tests pass
``LOOPBACK`` (the Python API's ``policy``, which no catalogue can set) to reach it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import struct
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gpt4all_rag.models.network import NetworkPolicy

LOOPBACK = NetworkPolicy(trusted_networks=(ipaddress.ip_network("127.0.0.1/32"),))
"""The default policy plus this file's server: http to 127.0.0.1 allowed, nothing else."""
LOOPBACK_CIDR = "127.0.0.1/32"  # the same, as the CLI's --allow-network takes it
LLAMA3_TEMPLATE = (
    "{% for message in messages %}<|start_header_id|>{{ message['role'] }}{% endfor %}"
)


def gguf_bytes(metadata: dict[str, Any], vocabulary: int = 3, version: int = 3) -> bytes:
    """A GGUF header: the given keys (str, int, float, bool) plus a tokens array, no tensors."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, 0, len(metadata) + 2))

    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    out += string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, vocabulary)
    for n in range(vocabulary):
        out += string(f"tok{n}")
    out += string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, vocabulary)
    out += struct.pack(f"<{vocabulary}f", *([0.0] * vocabulary))
    for key, value in metadata.items():
        out += string(key)
        if isinstance(value, bool):
            out += struct.pack("<I?", 7, value)
        elif isinstance(value, int):
            out += struct.pack("<Iq", 11, value)
        elif isinstance(value, float):
            out += struct.pack("<Id", 12, value)
        else:
            out += struct.pack("<I", 8) + string(str(value))
    return bytes(out)


def write_gguf(
    path: Path,
    name: str = "",
    architecture: str = "llama",
    template: str | None = None,
    padding: int = 0,
) -> Path:
    """A small GGUF file at ``path`` (``padding`` zero bytes stand for the tensors)."""
    metadata: dict[str, Any] = {"general.architecture": architecture}
    if name:
        metadata["general.name"] = name
    metadata["llama.context_length"] = 8192
    if template is not None:
        metadata["tokenizer.chat_template"] = template
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gguf_bytes(metadata) + bytes(padding))
    return path


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def catalogue_item(filename: str, data: bytes, url: str, **extra: Any) -> dict[str, Any]:
    """A models3.json object as GPT4All writes it (numbers as strings)."""
    item = {
        "order": "a",
        "md5sum": md5_of(data),
        "name": filename.removesuffix(".gguf").replace("-", " "),
        "filename": filename,
        "filesize": str(len(data)),
        "requires": "2.7.1",
        "ramrequired": "1",
        "parameters": "135 million",
        "quant": "q4_1",
        "type": "llama",
        "description": "<ul><li>test model</li></ul>",
        "url": url,
    }
    item.update(extra)
    return item


@dataclass
class FileServer:
    """What the server serves, how it misbehaves, and what it was asked."""

    base_url: str = ""
    files: dict[str, bytes | Path] = field(default_factory=dict)
    drop_after: int | None = None  # bytes of body sent before the connection is cut...
    drops_left: int = 0  # ...on this many responses
    ignore_range: bool = False
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)

    def add(self, path: str, content: bytes | Path) -> str:
        self.files[path] = content
        return self.base_url + path

    def add_catalogue(self, items: list[dict[str, Any]]) -> str:
        return self.add("/models3.json", json.dumps(items).encode())

    def size(self, path: str) -> int:
        content = self.files[path]
        return content.stat().st_size if isinstance(content, Path) else len(content)

    def read(self, path: str, start: int, end: int) -> bytes:
        content = self.files[path]
        if isinstance(content, bytes):
            return content[start:end]
        with open(content, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)


_RANGE = re.compile(r"bytes=(\d+)-$")


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            state.requests.append((self.path, self.headers.get("Range")))
            if self.path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path not in state.files:
                self.send_error(404)
                return
            size = state.size(self.path)
            match = _RANGE.match(self.headers.get("Range") or "")
            start = int(match.group(1)) if match and not state.ignore_range else 0
            if start >= size and start:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.send_header("Content-Length", str(size - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            self._body(start, size)

        def _body(self, start: int, size: int) -> None:
            end = size
            # Only a body longer than drop_after is cut (not the catalogue).
            cut = state.drops_left > 0 and start + (state.drop_after or size) < size
            if cut:
                state.drops_left -= 1
                end = start + (state.drop_after or 0)
            position = start
            while position < end:
                piece = state.read(self.path, position, min(end, position + (1 << 20)))
                self.wfile.write(piece)
                position += len(piece)
            if cut:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the peer sees the body end early

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up early (a refused redirect, a capped read) is no error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def file_server() -> Iterator[FileServer]:
    """A FileServer on 127.0.0.1 (a free port), stopped on exit."""
    state = FileServer()
    server = _QuietServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
