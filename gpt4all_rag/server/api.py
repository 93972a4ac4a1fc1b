"""The FastAPI application: routes, the bearer token, and errors in OpenAI's shape.

``create_app(assistant)`` serves an assistant that is already built (the CLI's,
or a test's on the fakes). Questions go through the one :class:`ModelWorker`
thread; searches, ingests and the status run in Starlette's thread pool beside
it, as the Streamlit app runs them beside its answers.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gpt4all_rag.assistant import DocumentAssistant
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.server.chat import (
    Completion,
    JobStream,
    complete,
    question_and_history,
    stream_events,
)
from gpt4all_rag.server.errors import ApiError, error_body, error_status
from gpt4all_rag.server.model_worker import AnswerJob, ModelWorker
from gpt4all_rag.server.schemas import MODEL_ID, ChatRequest, IngestRequest, SearchRequest
from gpt4all_rag.settings import Settings

__all__ = ["Service", "create_app", "is_loopback", "token_of"]


def token_of(settings: Settings) -> str | None:
    """The configured bearer token, or None (an empty token counts as none)."""
    token = settings.serve_token.get_secret_value().strip() if settings.serve_token else ""
    return token or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``, IPv6 with or without brackets) is loopback."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Service:
    """What the routes do, over one assistant and one model thread."""

    def __init__(self, assistant: DocumentAssistant) -> None:
        self.assistant = assistant
        self.worker = ModelWorker()
        self.started = int(time.time())
        self._ingesting = threading.Lock()

    async def chat_completions(self, body: ChatRequest, request: Request) -> Any:
        """Answer the last user message from the documents; streamed as SSE if asked."""
        question, history = question_and_history(body.messages)
        filters = body.filters.to_filters() if body.filters else None
        job = AnswerJob(
            lambda: self.assistant.events(
                question, history=history, filters=filters, k=body.k, mode=body.mode
            ),
            asyncio.get_running_loop(),
            answer_only=not body.stream,
        )
        self.worker.submit(job)
        completion = Completion()
        if body.stream:
            return JobStream(job, stream_events(job, completion))
        try:
            return await complete(job, completion, request)
        finally:
            job.cancel()  # also when this request itself is cancelled

    async def search(self, body: SearchRequest) -> dict[str, Any]:
        """The passages a query retrieves: ``gpt4all-rag search --json``'s object."""
        k = body.k or self.assistant.settings.top_k
        filters = body.filters.to_filters() if body.filters else None
        sources = await run_in_threadpool(
            self.assistant.search, body.query, k=k, mode=body.mode, filters=filters
        )
        return {"results": [s.to_json() for s in sources]}

    async def ingest(self, body: IngestRequest | None = None) -> dict[str, Any]:
        """Sync the configured documents folder: ``gpt4all-rag ingest --json``'s object."""
        if not self._ingesting.acquire(blocking=False):
            raise ApiError(409, "an ingest is already running", "conflict")
        try:
            force = body.force if body else False
            report = await run_in_threadpool(self.assistant.ingest, force=force)
        finally:
            self._ingesting.release()
        return report.to_json()

    async def status(self) -> dict[str, Any]:
        """``gpt4all-rag status --json``'s object, the model, and the question queue."""
        status = await run_in_threadpool(self.assistant.status)
        server = {**self.worker.state(), "ingesting": self._ingesting.locked()}
        return {**status.to_json(), "model": self.assistant.model_name, "server": server}

    async def models(self) -> dict[str, Any]:
        """The one model: answers from the documents; ``model_file`` names what generates."""
        model = {
            "id": MODEL_ID,
            "object": "model",
            "created": self.started,
            "owned_by": "gpt4all-rag",
            "model_file": self.assistant.model_name,
        }
        return {"object": "list", "data": [model]}


async def health() -> dict[str, str]:
    """Liveness, without a token: says nothing about the documents."""
    return {"status": "ok"}


def create_app(assistant: DocumentAssistant, settings: Settings | None = None) -> FastAPI:
    """The API over ``assistant``; ``settings`` (default: the assistant's) give the token.

    Without a token only requests addressed to a loopback name are answered, so
    a web page cannot reach the API through DNS rebinding.
    """
    settings = settings or assistant.settings
    token = token_of(settings)
    service = Service(assistant)
    app = FastAPI(
        title="gpt4all-rag",
        summary="OpenAI-compatible answers from your documents, with their sources.",
        docs_url=None,  # the interactive docs load their scripts from a CDN: not offline
        redoc_url=None,
        lifespan=_lifespan(service),
    )
    app.state.service = service
    app.state.token_required = token is not None
    if token is None:
        app.add_middleware(LoopbackHostsOnly)
    _add_error_handlers(app)
    app.add_api_route("/health", health, methods=["GET"])
    app.include_router(_routes(service, token))
    return app


def _routes(service: Service, token: str | None) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(bearer_check(token))])
    router.add_api_route("/chat/completions", service.chat_completions, methods=["POST"])
    router.add_api_route("/models", service.models, methods=["GET"])
    router.add_api_route("/search", service.search, methods=["POST"])
    router.add_api_route("/ingest", service.ingest, methods=["POST"])
    router.add_api_route("/status", service.status, methods=["GET"])
    return router


def _lifespan(service: Service) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.worker.close()  # a stream still open at shutdown stops at its next token

    return lifespan


def bearer_check(token: str | None) -> Callable[..., Awaitable[None]]:
    """A dependency that refuses requests without ``Authorization: Bearer <token>``."""
    expected = token.encode() if token else None

    async def check(authorization: str | None = Header(None)) -> None:
        if expected is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise ApiError(
                401,
                "a valid bearer token is required (Authorization: Bearer <token>)",
                "authentication_error",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


class LoopbackHostsOnly:
    """Answer only requests whose ``Host`` is a loopback name or address.

    A page on another site that rebinds its own name to 127.0.0.1 sends its
    name as the Host; without a token, that is all that tells it apart.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = dict(scope.get("headers", ())).get(b"host", b"").decode("latin-1")
        if scope["type"] == "http" and host and not is_loopback(_host_name(host)):
            message = f"host {host!r} refused: without a token this server answers only localhost"
            await JSONResponse(error_body(message, "invalid_request_error"), 400)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _host_name(host: str) -> str:
    """``Host`` without its port: ``[::1]:8765`` -> ``::1``, ``localhost:8765`` -> ``localhost``."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _add_error_handlers(app: FastAPI) -> None:
    """Every error as OpenAI's ``{"error": {...}}``, the project's errors with fitting statuses."""

    async def api_error(request: Request, exc: Exception) -> Response:
        status, kind = error_status(exc)
        headers = exc.headers if isinstance(exc, ApiError) else None
        return JSONResponse(error_body(str(exc), kind), status, headers=headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors
        )
        return JSONResponse(error_body(message or str(exc), "invalid_request_error"), 400)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return JSONResponse(error_body(str(detail), "invalid_request_error"), status)

    app.add_exception_handler(ApiError, api_error)
    for kind in USER_ERRORS:
        app.add_exception_handler(kind, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
