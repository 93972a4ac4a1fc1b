"""The API's errors, and how the project's errors become HTTP statuses in OpenAI's shape.

OpenAI clients read ``{"error": {"message", "type", "param", "code"}}``; the
``openai`` package raises its typed exceptions from the status and shows the
message, and reads the same object from a stream's ``data:`` line.
"""

from __future__ import annotations

from typing import Any

from gpt4all_rag.errors import USER_ERRORS, AssistantError, IngestError, LLMError, StoreUnavailable

__all__ = ["ApiError", "InsecureBind", "error_body", "error_status"]


class InsecureBind(AssistantError):
    """``serve`` was asked to listen beyond this machine without a token."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"refusing to serve on {host} without a token: anyone who can reach that address "
            "could read your documents. Set GPT4ALL_RAG_SERVE_TOKEN (or --token), or bind to "
            "127.0.0.1"
        )
        self.host = host


class ApiError(Exception):
    """A request the API refuses, with its HTTP status and OpenAI error type."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.headers = headers


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def error_status(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and error type for an exception raised while answering.

    An index busy with another ingest, or built from another folder, is a
    conflict the client can resolve; a model or store that cannot be used is
    the server's problem (503); anything else is a bug (500).
    """
    if isinstance(exc, ApiError):
        return exc.status, exc.kind
    if isinstance(exc, IngestError):
        return 409, "conflict"
    if isinstance(exc, LLMError | StoreUnavailable):
        return 503, "service_unavailable"
    if isinstance(exc, USER_ERRORS):
        return 503, "server_error"
    return 500, "server_error"
