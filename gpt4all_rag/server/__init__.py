"""``gpt4all-rag serve``: an OpenAI-compatible HTTP API over your documents.

``POST /v1/chat/completions`` answers from the documents (streamed or not), with
the sources as Markdown footnotes and in an extra ``sources`` field;
``GET /v1/models``, ``POST /v1/search``, ``POST /v1/ingest``, ``GET /v1/status``
and ``GET /health`` complete it. One process holds the models, and questions are
answered one at a time, in order. Every route but ``/health`` needs the bearer
token, and the answers are inert Markdown (untrusted text). See docs/serve.md.

Importing this package imports nothing: ``server.api`` imports FastAPI, and the
CLI imports it only inside ``serve``.
"""
