"""``gpt4all-rag serve``: an OpenAI-compatible HTTP API over your documents.

``POST /v1/chat/completions`` answers from the documents (streamed or not), with
the sources as Markdown footnotes and in an extra ``sources`` field;
``GET /v1/models``, ``POST /v1/search``, ``POST /v1/ingest``, ``GET /v1/status``
and ``GET /health`` complete it. One process holds the models, and questions are
answered one at a time, in order. Every route but ``/health`` needs the bearer
token, and the answers are inert Markdown (untrusted text). See docs/serve.md.

Imports FastAPI: the CLI imports this package only inside ``serve``.
"""

from __future__ import annotations

from gpt4all_rag.server.api import Service, create_app, is_loopback, new_token, token_of
from gpt4all_rag.server.errors import ApiError, InsecureBind
from gpt4all_rag.server.run import BackgroundServer, check_bind, preload, serve
from gpt4all_rag.server.schemas import MODEL_ID

__all__ = [
    "MODEL_ID",
    "ApiError",
    "BackgroundServer",
    "InsecureBind",
    "Service",
    "check_bind",
    "create_app",
    "is_loopback",
    "new_token",
    "preload",
    "serve",
    "token_of",
]
