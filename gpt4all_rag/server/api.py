"""The FastAPI application: routes, the limits, and errors in OpenAI's shape.

``create_app(assistant)`` serves an assistant that is already built (the CLI's,
or a test's on the fakes). Every request passes :class:`RequestGuard` first (the
bearer token, other sites, JSON, the body's size). Questions go through the one
:class:`ModelWorker` thread, behind a bounded queue; searches, ingests and the
status run in Starlette's thread pool beside it, as the Streamlit app runs them
beside its answers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.server.chat import (
    Completion,
    JobStream,
    complete,
    question_and_history,
    stream_events,
)
from gpt4all_rag.server.errors import ApiError, error_body, error_status
from gpt4all_rag.server.guards import RequestGuard
from gpt4all_rag.server.model_worker import AnswerJob, ModelWorker, QueueFull
from gpt4all_rag.server.schemas import MODEL_ID, ChatRequest, IngestRequest, SearchRequest
from gpt4all_rag.settings import Settings

__all__ = ["RETRY_AFTER_S", "Service", "create_app", "is_loopback", "new_token", "token_of"]

RETRY_AFTER_S = 5
"""Seconds a client refused for a full question queue is told to wait (``Retry-After``)."""


def token_of(settings: Settings) -> str | None:
    """The configured bearer token, or None (an empty token counts as none)."""
    token = settings.serve_token.get_secret_value().strip() if settings.serve_token else ""
    return token or None


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


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

    def __init__(self, assistant: DocumentAssistant, settings: Settings | None = None) -> None:
        self.assistant = assistant
        self.settings = settings or assistant.settings
        self.worker = ModelWorker(self.settings.serve_max_waiting)
        self.started = int(time.time())
        self._ingesting = threading.Lock()

    async def chat_completions(self, body: ChatRequest, request: Request) -> Any:
        """Answer the last user message from the documents; streamed as SSE if asked."""
        question, history = question_and_history(body.messages)
        self._check_length("question", question)
        filters = body.filters.to_filters() if body.filters else None
        job = AnswerJob(
            lambda: self.assistant.events(
                question, history=history, filters=filters, k=body.k, mode=body.mode
            ),
            asyncio.get_running_loop(),
            answer_only=not body.stream,
        )
        try:
            self.worker.submit(job)
        except QueueFull as full:
            raise ApiError(
                429,
                f"too many questions: {full}; try again later",
                "rate_limit_error",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            ) from None
        completion = Completion()
        if body.stream:
            return JobStream(job, stream_events(job, completion))
        try:
            return await complete(job, completion, request)
        finally:
            job.cancel()  # also when this request itself is cancelled

    async def search(self, body: SearchRequest) -> dict[str, Any]:
        """The passages a query retrieves: ``gpt4all-rag search --json``'s object."""
        self._check_length("query", body.query)
        k = body.k or self.assistant.settings.top_k
        filters = body.filters.to_filters() if body.filters else None
        sources = await run_in_threadpool(
            self.assistant.search, body.query, k=k, mode=body.mode, filters=filters
        )
        return {"results": [s.to_json() for s in sources]}

    def _check_length(self, what: str, text: str) -> None:
        """Refuse a question or query longer than the setting allows (422)."""
        limit = self.settings.serve_max_query_chars
        if len(text) > limit:
            raise ApiError(
                422,
                f"the {what} is {len(text)} characters long; this server accepts at most "
                f"{limit} (GPT4ALL_RAG_SERVE_MAX_QUERY_CHARS)",
            )

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


def create_app(
    assistant: DocumentAssistant, settings: Settings | None = None, token: str | None = None
) -> FastAPI:
    """The API over ``assistant``, behind the bearer token; ``app.state.token`` holds it.

    Args:
        assistant: answers, searches and ingests.
        settings: the limits and the configured token (default: the assistant's).
        token: the token to require; default: the configured one, else a new one.
            There is always a token: on a shared machine any local user can reach
            loopback.
    """
    settings = settings or assistant.settings
    chosen = token or token_of(settings)
    token = chosen or new_token()
    service = Service(assistant, settings)
    app = FastAPI(
        title="gpt4all-rag",
        summary="OpenAI-compatible answers from your documents, with their sources.",
        docs_url=None,  # the interactive docs load their scripts from a CDN: not offline
        redoc_url=None,
        lifespan=_lifespan(service),
    )
    app.state.service = service
    app.state.token = token
    app.state.token_chosen = chosen is not None  # by the person: may be shared beyond loopback
    app.add_middleware(RequestGuard, token=token, max_body_bytes=settings.serve_max_body_bytes)
    _add_error_handlers(app)
    app.add_api_route("/health", health, methods=["GET"])
    app.include_router(_routes(service))
    return app


def _routes(service: Service) -> APIRouter:
    router = APIRouter(prefix="/v1")
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
