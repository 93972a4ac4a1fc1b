"""``serve``: an OpenAI-compatible HTTP API over your documents (docs/serve.md)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, settings_from

if TYPE_CHECKING:
    from gpt4all_rag.assistant.single import DocumentAssistant
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
        "or 127.0.0.1; anything else needs a token you set)",
    )
    serve.add_argument("--port", type=int, help="port (default: $GPT4ALL_RAG_SERVE_PORT or 8765)")
    serve.add_argument(
        "--token",
        help="bearer token every request must send (default: $GPT4ALL_RAG_SERVE_TOKEN, "
        "else a new one; either way written to INDEX/serve.token, owner-only); prefer the "
        "variable, since other users can read a process's arguments",
    )
    serve.add_argument("--model", type=Path, help="GGUF model file")
    serve.add_argument(
        "--lazy", action="store_true", help="load the models on the first request, not at start"
    )
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Check the address, load the models, then serve until Ctrl-C."""
    # FastAPI, uvicorn, LangChain: imported when the command runs, so --help starts fast.
    from gpt4all_rag.server.api import create_app, is_loopback, token_of
    from gpt4all_rag.server.discovery import token_file  # as above
    from gpt4all_rag.server.run import check_bind, preload, serve  # as above

    overrides = {"serve_host": args.host, "serve_port": args.port, "serve_token": args.token}
    settings = settings_from(args, **{k: v for k, v in overrides.items() if v is not None})
    chosen = token_of(settings)
    check_bind(settings.serve_host, chosen is not None)  # before any model loads
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
    app = create_app(assistant, settings)  # the token set, else a new one
    token: str = app.state.token
    index_dir = assistant.settings.index_dir
    # uvicorn stops on Ctrl-C, then raises it again: for a server, that is a normal end.
    with (
        contextlib.suppress(KeyboardInterrupt),
        token_file(index_dir, token) as token_path,
        _findable(assistant, host, settings.serve_port),
    ):
        print(
            f"serving {index_dir} on http://{host}:{settings.serve_port}/v1 "
            f"(Ctrl-C to stop); bearer token in {token_path}",
            file=sys.stderr,
            flush=True,
        )
        serve(app, settings.serve_host, settings.serve_port)
    print("stopped", file=sys.stderr)
    return EXIT_OK


def _findable(
    assistant: DocumentAssistant, host: str, port: int
) -> contextlib.AbstractContextManager[object]:
    """Leave a record for ``gpt4all-rag search`` to find this server by, while it runs.

    Only a loopback server is recorded; the record never holds the token (that is
    in ``serve.token``, which only the owner can read).
    """
    from gpt4all_rag.server.api import is_loopback  # FastAPI: on use only
    from gpt4all_rag.server.discovery import server_record  # urllib, ssl: on use only

    if not is_loopback(host.strip("[]")):
        return contextlib.nullcontext()
    return server_record(assistant.settings.index_dir, f"http://{host}:{port}")
