"""Start the Streamlit page for its owner only: ``python -m gpt4all_rag.ui.launch``.

What ``make run`` starts: ``streamlit run app.py`` with two things Streamlit has no
option for:

- A per-launch secret. Every local user can reach 127.0.0.1, so the page opens only
  for ``?token=<secret>``. The secret is ``GPT4ALL_RAG_APP_TOKEN`` when that is set
  (scripts, tests), otherwise a fresh random one. It reaches the page, which runs in
  this process, through this process's environment (``/proc/PID/environ`` is the
  owner's only), never a command line (``/proc/PID/cmdline`` is world-readable); so
  the link is printed, not handed to a browser command.
- ``LocalOnly``, a middleware in front of every route, Streamlit's own included
  (``/``, ``/media``, ``/_stcore/*``, the WebSocket): it refuses a Host that is not
  one of ``server.allowedHosts`` and an Origin that is not the page's own, and it
  forbids framing (clickjacking). Refusing a foreign Origin before Streamlit sees the
  WebSocket also means Streamlit never runs its origin check, which looks the
  machine's address up at ``checkip.amazonaws.com``. Streamlit 1.67 serves
  ``st.App`` on Starlette and runs an app's middleware before its own.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

__all__ = [
    "APP_TOKEN_VARIABLE",
    "FRAME_HEADERS",
    "LOOPBACK_NAMES",
    "LocalOnly",
    "launch_token",
    "page_url",
    "request_allowed",
    "token_matches",
]

APP_TOKEN_VARIABLE = "GPT4ALL_RAG_APP_TOKEN"
APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"  # the repository's root
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
FRAME_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_WEBSOCKET_POLICY_VIOLATION = 1008


def launch_token(environment: Mapping[str, str]) -> str:
    """The secret of this launch: the environment's when set, a fresh random one otherwise."""
    return environment.get(APP_TOKEN_VARIABLE) or secrets.token_urlsafe(32)


def token_matches(given: str | None, expected: str | None) -> bool:
    """Whether ``given`` is the launch secret (constant time; no secret set opens nothing)."""
    if not given or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


def page_url(port: int, token: str) -> str:
    """The link that opens the page for this launch."""
    return f"http://127.0.0.1:{port}/?token={token}"


def _host_name(host: str) -> str | None:
    """The name in a Host header, lower case and without port; None when malformed."""
    try:
        parts = urlsplit(f"//{host}")
        _ = parts.port  # a port that is not a number raises
    except ValueError:
        return None
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return (parts.hostname or "").rstrip(".") or None


def request_allowed(host: str | None, origin: str | None, names: Sequence[str]) -> bool:
    """A request for one of ``names``, from no page or from the app's own page.

    Browsers send Origin on cross-site requests and WebSockets; the app's own page sends
    its own ``scheme://host:port``. A foreign Host is DNS rebinding or a misdirected
    request.
    """
    if host is None:
        return False
    allowed = {n.lower() for n in names}
    name = _host_name(host)
    if name is None or ("*" not in allowed and name not in allowed):
        return False
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()


def configured_hosts() -> tuple[str, ...]:
    """Streamlit's ``server.allowedHosts``, or the loopback names when unset.

    Names match exactly, and ``*`` allows any; a ``*.domain`` pattern matches nothing.
    """
    from streamlit import config  # Streamlit: on use only

    return tuple(config.get_option("server.allowedHosts") or LOOPBACK_NAMES)


class LocalOnly:
    """ASGI middleware: refuse foreign Host and Origin headers, forbid framing."""

    def __init__(self, app: ASGIApp, names: Sequence[str] | None = None) -> None:
        self.app = app
        self.names = tuple(names) if names is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request, or pass it on with the anti-framing headers added."""
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        names = self.names if self.names is not None else configured_hosts()
        if not request_allowed(headers.get("host"), headers.get("origin"), names):
            await self._refuse(scope, receive, send)
        elif scope["type"] == "http":
            await self.app(scope, receive, _with_frame_headers(send))
        else:
            await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # closed before accept: the server answers 403
            await WebSocketClose(code=_WEBSOCKET_POLICY_VIOLATION)(scope, receive, send)
        else:
            refusal = PlainTextResponse("Forbidden: not this app's host or origin.", 403)
            await refusal(scope, receive, _with_frame_headers(send))


def _with_frame_headers(send: Send) -> Send:
    """``send``, adding ``FRAME_HEADERS`` to the response's headers."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in FRAME_HEADERS.items():
                headers[name] = value
        await send(message)

    return sending


def run_app(port: int, script: Path = APP_SCRIPT) -> None:
    """Serve ``script`` as ``streamlit run`` would, behind ``LocalOnly``; blocks until stopped."""
    import streamlit as st  # Streamlit: imported only to serve the app

    # App.run takes argv[0] as the script: its folder goes on sys.path and holds the
    # .streamlit/config.toml it reads, as with `streamlit run app.py`.
    sys.argv = [str(script)]
    options: dict[str, Any] = {"server.port": port, "logger.hideWelcomeMessage": True}
    st.App(script, middleware=[Middleware(LocalOnly)]).run(config=options)


def main(argv: Sequence[str] | None = None) -> None:
    """Print this launch's link, then serve the page on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m gpt4all_rag.ui.launch", description=__doc__)
    parser.add_argument("--port", type=int, default=8501, help="loopback port (8501)")
    port = parser.parse_args(argv).port
    token = launch_token(os.environ)
    os.environ[APP_TOKEN_VARIABLE] = token  # the page reads it; only the owner can read it here
    sys.stdout.write(
        f"\n  Open the app (this link holds this launch's secret; keep it to yourself):\n"
        f"  {page_url(port, token)}\n\n"
    )
    sys.stdout.flush()
    run_app(port)


if __name__ == "__main__":
    main()
