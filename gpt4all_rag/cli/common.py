"""What every ``gpt4all-rag`` command shares: exit codes, settings, output.

Kept free of heavy imports: ``gpt4all-rag status`` must start in well under a second.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.reporting import terminal_text

if TYPE_CHECKING:
    from gpt4all_rag.assistant import DocumentAssistant
    from gpt4all_rag.settings import Settings
    from vectorstore.retriever import Filters

__all__ = [
    "EXIT_FILES_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AssistantFactory",
    "Command",
    "common_parser",
    "emit",
    "filters_from",
    "settings_from",
]

EXIT_OK, EXIT_FILES_FAILED, EXIT_USAGE = 0, 1, 2

AssistantFactory = Callable[["Settings"], "DocumentAssistant"]
"""Builds the assistant from the command's settings; tests pass one with fakes."""

Command = Callable[[argparse.Namespace, AssistantFactory], int]
"""A command: parsed arguments and the assistant factory in, exit code out."""

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
    """Where a command module's ``register(commands, common)`` adds its parsers."""


def common_parser() -> argparse.ArgumentParser:
    """The options every command takes: the index folder and JSON output."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index", type=Path, help="index folder (default: $GPT4ALL_RAG_INDEX_DIR or ./index)"
    )
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return common


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    """The command's settings: the environment, overridden by its options."""
    from gpt4all_rag.settings import Settings

    overrides: dict[str, object] = dict(extra)
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    if getattr(args, "model", None):
        overrides["model_path"] = args.model
    if getattr(args, "k", None):
        overrides["top_k"] = args.k
    if getattr(args, "retrieval_mode", None):
        overrides["retrieval_mode"] = args.retrieval_mode
    return Settings(**overrides)  # type: ignore[arg-type]  # validated by pydantic


def filters_from(args: argparse.Namespace) -> Filters | None:
    """The ``--file``/``--folder``/``--type`` restrictions, or None for all files."""
    from vectorstore.retriever import Filters

    if not (args.file or args.folder or args.type):
        return None
    return Filters(files=tuple(args.file), folder=args.folder, extensions=tuple(args.type))


def emit(args: argparse.Namespace, payload: object, text: str) -> None:
    """The payload as one JSON object, or the text with terminal controls removed."""
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(terminal_text(text))
