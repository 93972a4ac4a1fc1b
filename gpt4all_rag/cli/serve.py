"""``serve``: an OpenAI-compatible HTTP API over your documents (docs/serve.md)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, settings_from

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gpt4all_rag.assistant import DocumentAssistant
    from gpt4all_rag.cli.common import Subcommands

__all__ = ["cmd_serve", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``serve``."""
    serve = commands.add_parser(
        "serve", parents=[common], help="an OpenAI-compatible HTTP API over your documents"
    )
    serve.add_argument(
        "--host",
        help="address to bind (default: $GPT4ALL_RAG_SERVE_HOST "
        "or 127.0.0.1; anything else needs a token)",
    )
    serve.add_argument("--port", type=int, help="port (default: $GPT4ALL_RAG_SERVE_PORT or 8765)")
    serve.add_argument(
        "--token",
        help="bearer token every request must send; prefer $GPT4ALL_RAG_SERVE_TOKEN, "
        "since other users can read a process's arguments",
    )
    serve.add_argument("--model", type=Path, help="GGUF model file")
    serve.add_argument(
        "--lazy", action="store_true", help="load the models on the first request, not at start"
    )
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Check the address, load the models, then serve until Ctrl-C."""
    from gpt4all_rag.server import check_bind, create_app, is_loopback, preload, serve, token_of

    overrides = {"serve_host": args.host, "serve_port": args.port, "serve_token": args.token}
    settings = settings_from(args, **{k: v for k, v in overrides.items() if v is not None})
    check_bind(settings.serve_host, token_of(settings) is not None)  # before any model loads
    assistant = make(settings)
    if not args.lazy:
        print(f"loading the models ({assistant.model_name})…", file=sys.stderr, flush=True)
        preload(assistant)
    host = f"[{settings.serve_host}]" if ":" in settings.serve_host else settings.serve_host
    if not is_loopback(settings.serve_host):
        print(
            "warning: plain HTTP: the token, questions and passages cross the network "
            "unencrypted; prefer an ssh tunnel or a TLS proxy (docs/serve.md)",
            file=sys.stderr,
        )
    print(
        f"serving {assistant.settings.index_dir} on http://{host}:{settings.serve_port}/v1 "
        "(Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    app = create_app(assistant, settings)
    # uvicorn stops on Ctrl-C, then raises it again: for a server, that is a normal end.
    with (
        contextlib.suppress(KeyboardInterrupt),
        _findable(app, assistant, host, settings.serve_port),
    ):
        serve(app, settings.serve_host, settings.serve_port)
    print("stopped", file=sys.stderr)
    return EXIT_OK


def _findable(
    app: FastAPI, assistant: DocumentAssistant, host: str, port: int
) -> contextlib.AbstractContextManager[object]:
    """Leave a record for ``gpt4all-rag search`` to find this server by, while it runs.

    Only a loopback server without a token is recorded: the CLI sends no token, and
    a record never holds one.
    """
    from gpt4all_rag.local_server import server_record
    from gpt4all_rag.server import is_loopback

    if app.state.token_required or not is_loopback(host.strip("[]")):
        return contextlib.nullcontext()
    return server_record(assistant.settings.index_dir, f"http://{host}:{port}")
