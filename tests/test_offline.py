"""Nothing leaves the machine: ingest, search and ask with the real models, network guarded.

A guard replaces the socket functions that open connections or resolve names;
any address other than loopback (or a Unix socket) is refused and recorded.
This catches Hugging Face hub calls, Chroma's posthog telemetry, or any other
library phoning home from Python. ``scripts/check_offline.sh`` proves the same
for the CLI from outside, in a network namespace that has only loopback.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag import DocumentAssistant, Settings
from gpt4all_rag.testing import HashEmbedder, ScriptedLLM, fake_settings
from tests.helpers.data import DOCS, DOCS_CHUNKS

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
# Variables that would keep libraries offline on their own; the product must not rely on the
# caller having set them.
OFFLINE_VARIABLES = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "ANONYMIZED_TELEMETRY",
)


class NetworkAttempt(OSError):
    """Raised by the guard instead of reaching a non-loopback address."""


def is_local(host: Any) -> bool:
    """Whether ``host`` (a name, an address, or None for "any") stays on this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).split("%", 1)[0]  # an IPv6 scope id
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name needs DNS, which is the network


def address_is_local(address: Any) -> bool:
    """Whether a socket address (tuple for IP, str/bytes for a Unix socket) is local."""
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX path
    if isinstance(address, tuple) and address:
        return is_local(address[0])
    return False


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse and record every attempt to reach a non-loopback address."""
    attempts: list[str] = []

    def refuse(what: str) -> None:
        attempts.append(what)
        raise NetworkAttempt(f"test_offline: network access refused: {what}")

    def guard_address(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(self: socket.socket, *args: Any) -> Any:
            address = args[-1]  # connect(addr), connect_ex(addr), sendto(data[, flags], addr)
            if not address_is_local(address):
                refuse(f"{name}{address!r}")
            return real(self, *args)

        return guarded

    real_create = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def create_connection(address: tuple[Any, ...], *args: Any, **kwargs: Any) -> Any:
        if not address_is_local(address):
            refuse(f"create_connection{address!r}")
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_local(host):
            refuse(f"getaddrinfo({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, guard_address(name, getattr(socket.socket, name)))
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for variable in OFFLINE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    yield attempts


def test_the_guard_refuses_the_network_and_allows_loopback(outbound):
    with pytest.raises(NetworkAttempt):
        socket.getaddrinfo("huggingface.co", 443)
    with pytest.raises(NetworkAttempt), socket.socket() as sock:
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1, never routed
    with pytest.raises(NetworkAttempt):
        socket.create_connection(("us.i.posthog.com", 443), timeout=1)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
    assert outbound == [
        "getaddrinfo('huggingface.co')",
        "connect('192.0.2.1', 443)",
        "create_connection('us.i.posthog.com', 443)",
    ]


def run_everything(assistant: DocumentAssistant) -> None:
    report = assistant.ingest()
    assert report.chunks_total == sum(DOCS_CHUNKS.values()) and len(report.failed) == 4
    hits = assistant.search("Zorblax reactor core temperature kelvin", k=1, mode="hybrid")
    assert [(h.file, h.page) for h in hits] == [("manual.pdf", 2)]
    answer = assistant.ask("What is the core temperature of the Zorblax reactor?")
    assert answer.found and answer.text.strip()
    assert answer.sources[0].file == "manual.pdf"


def test_fakes_and_embedded_chroma_stay_offline(outbound, tmp_path):
    shutil.copytree(DOCS, tmp_path / "docs")
    settings = fake_settings(tmp_path / "docs", tmp_path / "index")
    assistant = DocumentAssistant.from_settings(
        settings, llm=ScriptedLLM(["451 kelvin [1]."]), embedder=HashEmbedder()
    )
    run_everything(assistant)
    assert outbound == []


@pytest.mark.slow
def test_real_models_ingest_search_and_ask_without_any_network(outbound, tmp_path: Path):
    shutil.copytree(DOCS, tmp_path / "docs")
    settings = Settings(
        documents_dir=tmp_path / "docs",
        index_dir=tmp_path / "index",
        max_new_tokens=24,
        temperature=0.0,
        answer_style="both",  # the model runs too (the bundled model's default is quotes only)
    )
    assistant = DocumentAssistant.from_settings(settings)
    run_everything(assistant)
    assert assistant.embedder.loaded  # the real MiniLM was used, not a fake
    assert outbound == []
