"""Opening a Chroma client, embedded or on a server: telemetry off, no proxy, a fast import.

Everything that knows how chromadb is opened lives here; ``vectorstore.chroma`` uses
the client. Vectors are always computed by our own embedder and passed in: the
collection has no embedding function, so Chroma never fetches its default ONNX model
from the network.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vectorstore.errors import StoreUnavailable

__all__ = ["chroma_errors", "open_chroma_client"]


def open_chroma_client(
    persist_dir: Path | None = None,
    host: str | None = None,
    port: int = 8000,
    *,
    token: str | None = None,
    ssl: bool = False,
) -> Any:
    """Open an embedded (``persist_dir``) or a server (``host``) Chroma client, telemetry off.

    A server is reached directly, never through a proxy named by the environment
    (``_direct_connections``), over HTTPS when ``ssl``, with ``token`` sent as a bearer
    token when given.
    """
    with _override_checks_skipped():
        return _open_client(persist_dir, host, port, token, ssl)


def _open_client(
    persist_dir: Path | None, host: str | None, port: int, token: str | None, ssl: bool
) -> Any:
    import chromadb  # chromadb: when a store is opened

    try:
        if host:
            with _direct_connections():
                return chromadb.HttpClient(
                    host=host, port=port, ssl=ssl, settings=_settings(**_token_auth(token))
                )
        if persist_dir is None:
            raise StoreUnavailable("either a persist folder or a Chroma host is needed")
        persist_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(persist_dir), settings=_settings())
    except StoreUnavailable:
        raise
    except Exception as exc:  # chromadb raises many types; one readable error for the user
        where = f"{host}:{port}" if host else str(persist_dir)
        raise StoreUnavailable(f"cannot open Chroma at {where}: {_without(exc, token)}") from exc


_override_lock = threading.Lock()


@contextmanager
def _override_checks_skipped() -> Iterator[None]:
    """Import and open chromadb without the ``overrides`` package's import-time checks.

    chromadb marks about 160 methods with ``overrides.override``, which, as each class
    is created, reads the class statement's bytecode to find its bases and compares
    the method's signature with the base's through typing introspection: about 0.4 s
    of the 1 s that importing chromadb and opening a client take here, on every start
    of the command line. The checks are a development aid: they only raise for a
    mismatch, and a released chromadb has none. While chromadb loads, a decorated
    method is only marked as an override (what ``EnforceOverrides`` reads); the
    checks are back for everything else as soon as the client is open.
    """
    module = _overrides_module()
    checked = getattr(module, "_overrides", None)
    if module is None or checked is None:
        yield
        return

    def marked_only(method: Any, *_: Any, **__: Any) -> Any:
        method.__override__ = True
        return method

    with _override_lock:
        module._overrides = marked_only
        try:
            yield
        finally:
            module._overrides = checked


def _overrides_module() -> Any:
    """``overrides.overrides`` (the package exports a function of the same name), or None."""
    try:
        import overrides  # noqa: F401  (chromadb's dependency)
    except ImportError:
        return None
    return sys.modules.get("overrides.overrides")


def _settings(**values: Any) -> Any:
    from chromadb.config import Settings as ChromaSettings  # chromadb: on use only

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False, **values)


def _token_auth(token: str | None) -> dict[str, Any]:
    """Token auth by chromadb's own client provider: ``Authorization: Bearer <token>``."""
    if not token:
        return {}
    return {
        "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
        "chroma_client_auth_credentials": token,
    }


_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
_environment_lock = threading.Lock()


@contextmanager
def _direct_connections() -> Iterator[None]:
    """Hide proxy variables while a Chroma HTTP client is built.

    chromadb builds its ``httpx.Client`` with httpx's default ``trust_env=True`` and offers
    no setting to change that (and rejects any ``chroma_api_impl`` but its own), so
    ``HTTP(S)_PROXY`` would route every chunk and query, even to 127.0.0.1, through a
    proxy. httpx reads those variables once, when the client is built: hiding them then
    makes the client direct for its whole life. The variables are restored at once.
    """
    with _environment_lock:
        hidden = {name: os.environ.pop(name) for name in _PROXY_VARIABLES if name in os.environ}
        try:
            yield
        finally:
            os.environ.update(hidden)


def _without(exc: BaseException, secret: str | None) -> str:
    """An error message with the token blanked out, should a library echo it."""
    message = str(exc)
    return message.replace(secret, "***") if secret else message


@contextmanager
def chroma_errors(action: str) -> Iterator[None]:
    """Turn chromadb's many exception types into one readable ``StoreUnavailable``."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        raise StoreUnavailable(f"Chroma failed to {action}: {exc}") from exc
