"""The Chroma server client: no proxy from the environment, token auth, TLS.

A fake server on 127.0.0.1 records what the client sends; it is not Chroma, so opening
the store fails, after the first request has shown how it was made.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from vectorstore.chroma import ChromaStore
from vectorstore.errors import StoreUnavailable


class Listener:
    """Accepts connections on 127.0.0.1 and keeps the first bytes of each, then answers 500."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(65536))
                    conn.sendall(
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                        b"Connection: close\r\n\r\n"
                    )
                except OSError:
                    continue

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_proxy_variables_are_not_honoured(monkeypatch, listener):
    proxy = f"http://127.0.0.1:{listener.port}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    with pytest.raises(StoreUnavailable):
        ChromaStore.server("127.0.0.1", dead_port(), "documents")
    assert listener.received == []  # the proxy never heard of it


def test_token_is_sent_as_a_bearer_token_and_never_echoed(listener):
    with pytest.raises(StoreUnavailable) as caught:
        ChromaStore.server("127.0.0.1", listener.port, "documents", token="s3cret-token")
    request = listener.received[0].decode("latin-1")
    assert "\r\nauthorization: Bearer s3cret-token\r\n" in request.lower().replace(
        "bearer s3cret-token", "Bearer s3cret-token"
    )
    assert "s3cret-token" not in str(caught.value)


def test_no_token_sends_no_authorization(listener):
    with pytest.raises(StoreUnavailable):
        ChromaStore.server("127.0.0.1", listener.port, "documents")
    assert "authorization:" not in listener.received[0].decode("latin-1").lower()


def test_ssl_speaks_tls_from_the_first_byte(listener):
    with pytest.raises(StoreUnavailable):
        ChromaStore.server("127.0.0.1", listener.port, "documents", ssl=True)
    assert listener.received[0][:1] == b"\x16"  # a TLS handshake record, not "GET ..."
