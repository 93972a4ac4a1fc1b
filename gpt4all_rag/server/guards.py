"""What every request passes before a route sees it: the token, its origin, its type and size.

One ASGI layer in front of the whole application, so that no route (``/openapi.json``
and unknown paths included) can forget a check, and so that a body is refused before
it is read in full:

- **The token** on every path but ``GET /health``: ``Authorization: Bearer <token>``,
  compared in constant time (401).
- **Browsers from other sites** on every state-changing request: a ``Sec-Fetch-Site``
  of ``cross-site`` or ``same-site``, or an ``Origin`` other than the server's own
  loopback origin, is refused (403). A page can send a form or a ``no-cors`` fetch
  to loopback without reading the answer; for ``/v1/ingest`` that was enough.
- **JSON only** on those requests (415): a form or ``text/plain`` body, which a page
  may send without asking, is never taken for a request.
- **A bounded body** (413): ``Content-Length`` over the limit is refused at once, and
  a body sent without one is counted as it arrives.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gpt4all_rag.server.discovery import loopback_url
from gpt4all_rag.server.errors import error_body

__all__ = ["RequestGuard", "same_loopback_origin"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = frozenset({"/health"})
_FOREIGN_FETCH = frozenset({"cross-site", "same-site"})


class _Refused(Exception):
    """A request the guard answers itself."""

    def __init__(
        self, status: int, message: str, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers


class RequestGuard:
    """The checks above, in that order, then the application with the body already read.

    Args:
        app: the application behind the guard.
        token: the bearer token every request (but ``GET /health``) must send.
        max_body_bytes: the largest body passed on.
    """

    def __init__(self, app: ASGIApp, token: str, max_body_bytes: int) -> None:
        if not token:
            raise ValueError("the API needs a token")
        self.app = app
        self._expected = token.encode("utf-8")
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request with an OpenAI-shaped error, or pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._checked(scope, receive)
        except _Refused as refused:
            body = error_body(str(refused), refused.kind)
            response = JSONResponse(body, refused.status, headers=refused.headers)
            await response(scope, _no_body, send)
            return
        await self.app(scope, receive, send)

    async def _checked(self, scope: Scope, receive: Receive) -> Receive:
        """The request's ``receive``, once every check passed (the body read, if any)."""
        headers = Headers(scope=scope)
        method = scope["method"].upper()
        if method == "GET" and scope["path"] in _OPEN_PATHS:
            return receive
        changes_state = method not in _SAFE_METHODS
        if changes_state:
            _check_site(headers)
        self._check_token(headers)
        if not changes_state:
            return receive
        _check_json(headers)
        return await self._read_body(headers, receive)

    def _check_token(self, headers: Headers) -> None:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.strip().encode("utf-8"), self._expected
        ):
            raise _Refused(
                401,
                "a valid bearer token is required (Authorization: Bearer <token>; `serve` "
                "keeps it in the index folder's serve.token)",
                "authentication_error",
                {"WWW-Authenticate": "Bearer"},
            )

    async def _read_body(self, headers: Headers, receive: Receive) -> Receive:
        """Read the body up to the limit; a receive that hands it over, then the rest."""
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise _Refused(400, "Content-Length is not a number", "invalid_request_error")
            if int(declared) > self.max_body_bytes:
                raise self._too_large()
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _replay(b"", message, receive)
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                raise self._too_large()
            if not message.get("more_body", False):
                break
        return _replay(bytes(body), None, receive)

    def _too_large(self) -> _Refused:
        return _Refused(
            413,
            f"the request body is larger than this server accepts ({self.max_body_bytes} "
            "bytes, GPT4ALL_RAG_SERVE_MAX_BODY_BYTES)",
            "invalid_request_error",
        )


def _check_site(headers: Headers) -> None:
    """Refuse a request a browser sent for a page of another site."""
    site = headers.get("sec-fetch-site", "").strip().lower()
    if site in _FOREIGN_FETCH:
        raise _Refused(403, f"refused: a {site} request from a web page", "permission_error")
    origin = headers.get("origin")
    if origin is not None and not same_loopback_origin(origin, headers.get("host", "")):
        raise _Refused(
            403, f"refused: a request from the web origin {origin!r}", "permission_error"
        )


def same_loopback_origin(origin: str, host: str) -> bool:
    """Whether ``origin`` is ``http://`` + this request's ``Host``, and that is loopback."""
    own = loopback_url(origin)
    return own is not None and own.lower() == f"http://{host.strip().lower()}"


def _check_json(headers: Headers) -> None:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "none"
        raise _Refused(
            415,
            f"the body must be JSON (Content-Type: application/json), not {shown}",
            "invalid_request_error",
        )


def _replay(body: bytes, first: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then passes on to the real one."""
    pending: list[Message] = [first or {"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
