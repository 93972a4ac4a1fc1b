"""Running the API: the bind check, uvicorn in the foreground, or in a background thread.

The socket is bound here, before uvicorn starts, so a port in use is an
``OSError`` the CLI reports in one line instead of uvicorn's exit. While it runs, the
server keeps its index in step with the documents folder (``settings.watch_folder``),
with the same watcher as ``gpt4all-rag watch``; its changes go to the log.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.server.api import is_loopback
from gpt4all_rag.server.errors import InsecureBind
from ingest.report import SyncReport

__all__ = ["BackgroundServer", "check_bind", "folder_watching", "preload", "serve"]

log = logging.getLogger("gpt4all_rag.watch")


def check_bind(host: str, token_chosen: bool) -> None:
    """Refuse to listen beyond this machine unless the person chose the token.

    A token generated at start lives in a file on this machine: a client elsewhere
    could not know it, and the person may not know the port is open.

    Raises:
        InsecureBind: ``host`` is not loopback and no token was set.
    """
    if not token_chosen and not is_loopback(host):
        raise InsecureBind(host)


def preload(assistant: DocumentAssistant) -> None:
    """Load the embedder, the keyword index and the language model now, not on a request.

    That is what a server is for: the first question should not pay the start-up.
    """
    assistant.search("warm up", k=1)
    assistant.llm.count_tokens("warm up")


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _server(app: FastAPI, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,  # the client's address is the socket's, never a header's
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def folder_watching(assistant: DocumentAssistant, enabled: bool | None = None) -> Iterator[None]:
    """Keep the assistant's index in step with its folder inside the block.

    Each change and problem is one log line (``gpt4all_rag.watch``). Searches and
    answers go on during a sync, as with ``ingest``.

    Args:
        assistant: whose folder and index.
        enabled: default ``settings.watch_folder``; a replica (``replica_of``) never watches.
    """
    watch = assistant.settings.watch_folder if enabled is None else enabled
    if not watch or assistant.settings.replica_of is not None:  # a replica never writes
        yield
        return
    # watchdog: imported only when the folder is watched.
    from gpt4all_rag.assistant.watching import IndexWatcher, change_lines

    def logged(report: SyncReport) -> None:
        for line in change_lines(report):
            log.warning("%s", line)  # warning: shown without any logging set up

    watcher = IndexWatcher(assistant, on_report=logged, on_event=lambda line: log.warning(line))
    watcher.start()
    try:
        yield
    finally:
        watcher.stop()


def serve(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Serve ``app`` on ``host:port`` until interrupted (Ctrl-C), watching its folder.

    Raises:
        InsecureBind: ``host`` is not loopback and the app's token was not chosen.
        OSError: The address cannot be bound (the port is in use).
    """
    check_bind(host, app.state.token_chosen)
    sock = _bound_socket(host, port)
    server = _server(app, log_level)
    try:
        with folder_watching(app.state.service.assistant):
            server.run(sockets=[sock])
    finally:
        sock.close()


class BackgroundServer:
    """The API on a free loopback port in a thread: for tests, benchmarks and notebooks.

    Use it as a context manager; ``url`` is the base URL (``http://127.0.0.1:PORT``),
    ``token`` the bearer token requests must send.
    """

    def __init__(
        self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        check_bind(host, app.state.token_chosen)
        self._app = app
        self._sock = _bound_socket(host, port)
        self.host, self.port = host, self._sock.getsockname()[1]
        self._server = _server(app, log_level)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"gpt4all-rag-serve-{self.port}",
            daemon=True,
        )

    @property
    def token(self) -> str:
        """The bearer token the app requires."""
        return str(self._app.state.token)

    @property
    def url(self) -> str:
        """The server's base URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10.0)
        self._sock.close()
