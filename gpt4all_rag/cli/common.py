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
    from gpt4all_rag.answering.asking import Asker
    from gpt4all_rag.assistant.single import DocumentAssistant
    from gpt4all_rag.settings import Settings
    from vectorstore.retriever import Filters

__all__ = [
    "EXIT_FILES_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MULTI_COLLECTION_COMMANDS",
    "AskerFactory",
    "AssistantFactory",
    "Command",
    "collection_names",
    "common_parser",
    "default_factory",
    "emit",
    "filters_from",
    "settings_from",
    "with_collections",
]

EXIT_OK, EXIT_FILES_FAILED, EXIT_USAGE = 0, 1, 2

MULTI_COLLECTION_COMMANDS = frozenset({"ask", "search", "chat"})
"""The commands that ask several collections at once; the others take one."""

AssistantFactory = Callable[["Settings"], "DocumentAssistant"]
"""Builds the assistant from the command's settings; tests pass one with fakes."""

AskerFactory = Callable[["Settings"], "Asker"]
"""What the asking commands get: an assistant, or a ``CollectionSet`` for named collections."""


def default_factory(settings: Settings) -> DocumentAssistant:
    """The assistant the settings describe; a command that needs less may skip it."""
    from gpt4all_rag.assistant.single import DocumentAssistant  # LangChain: on use only

    return DocumentAssistant.from_settings(settings)


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
    common.add_argument(
        "--collection",
        action="append",
        default=[],
        metavar="NAME",
        help="the collection to use (default: $GPT4ALL_RAG_COLLECTION or 'default'); ask, "
        "search and chat take several (repeated, or a,b) and fuse their results",
    )
    return common


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    """The command's settings: the environment, overridden by its options."""
    from gpt4all_rag.settings import Settings  # pydantic: on use only

    overrides: dict[str, object] = dict(extra)
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    if getattr(args, "model", None):
        overrides["model_path"] = args.model
    if getattr(args, "k", None):
        overrides["top_k"] = args.k
    if getattr(args, "retrieval_mode", None):
        overrides["retrieval_mode"] = args.retrieval_mode
    names = collection_names(args)
    if len(names) > 1 and getattr(args, "command", None) not in MULTI_COLLECTION_COMMANDS:
        raise ValueError(
            f"{args.command} takes one --collection; ask, search and chat take several"
        )
    if names:
        overrides["collection"] = names[0]
    folder = overrides.pop("documents_dir", None)
    settings = Settings(**overrides)  # type: ignore[arg-type]  # validated by pydantic
    return settings if folder is None else _with_folder(settings, Path(str(folder)))


def _with_folder(settings: Settings, folder: Path) -> Settings:
    """The settings with this documents folder; a named collection's must be its own.

    A collection indexes the folder it was added with; indexing another one under
    its name would leave the registry naming a folder the index no longer holds.
    """
    from gpt4all_rag.settings_indexing import DEFAULT_COLLECTION  # pydantic: on use only

    if settings.collection == DEFAULT_COLLECTION:
        return settings.model_copy(update={"documents_dir": folder})
    from gpt4all_rag.index.registry import resolve_collection  # pydantic: on use only

    resolved = resolve_collection(settings)
    if folder.expanduser().resolve() != resolved.documents_dir.resolve():
        raise ValueError(
            f"collection {settings.collection!r} indexes {resolved.documents_dir}, not {folder}; "
            "add another collection for that folder (gpt4all-rag collections add NAME FOLDER)"
        )
    return resolved


def collection_names(args: argparse.Namespace) -> list[str]:
    """The ``--collection`` names, repeated or comma-separated, each once, in order."""
    names = (
        part.strip()
        for value in getattr(args, "collection", None) or ()
        for part in value.split(",")
    )
    return list(dict.fromkeys(name for name in names if name))


def with_collections(args: argparse.Namespace, make: AssistantFactory) -> AskerFactory:
    """The factory an asking command runs with: ``make``, or a ``CollectionSet`` for named ones.

    ``ask``, ``search`` and ``chat`` with ``--collection`` ask a set (its sources
    name their collection; several are fused); both meet the ``Asker`` protocol.
    """
    names = collection_names(args)
    if not names:
        return make

    def make_set(settings: Settings) -> Asker:
        from gpt4all_rag.assistant.several import CollectionSet  # LangChain: on use only

        return CollectionSet.from_factory(names, settings, make)

    return make_set


def filters_from(args: argparse.Namespace) -> Filters | None:
    """The ``--file``/``--folder``/``--type`` restrictions, or None for all files."""
    from vectorstore.retriever import Filters  # numpy: on use only

    if not (args.file or args.folder or args.type):
        return None
    return Filters(files=tuple(args.file), folder=args.folder, extensions=tuple(args.type))


def emit(args: argparse.Namespace, payload: object, text: str) -> None:
    """The payload as one JSON object, or the text with terminal controls removed."""
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(terminal_text(text))
