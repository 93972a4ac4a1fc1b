"""``collections list/add/remove``: the named document folders, each with its own index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.common import EXIT_OK, EXIT_USAGE, AssistantFactory, emit, settings_from

if TYPE_CHECKING:
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.index.registry import CollectionRegistry

__all__ = ["cmd_add", "cmd_list", "cmd_remove", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``collections`` with its ``list``, ``add`` and ``remove``."""
    group = commands.add_parser(
        "collections", help="named document folders, each with its own index"
    )
    actions = group.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[common], help="the collections and folders")
    listing.set_defaults(handler=cmd_list)
    add = actions.add_parser("add", parents=[common], help="name a documents folder")
    add.add_argument("name", help="lower-case letters, digits, '-' and '_'")
    add.add_argument("folder", type=Path, help="the documents folder")
    add.set_defaults(handler=cmd_add)
    remove = actions.add_parser(
        "remove", parents=[common], help="delete a collection's index (never its documents)"
    )
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="confirm deleting the index")
    remove.set_defaults(handler=cmd_remove)


def _registry(args: argparse.Namespace) -> CollectionRegistry:
    from gpt4all_rag.index.registry import CollectionRegistry  # pydantic: on use only

    return CollectionRegistry.for_settings(settings_from(args))


def cmd_list(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Print every collection: name, documents folder, index folder."""
    collections = _registry(args).all()
    lines = [f"{c.name}: {c.documents_dir} (index: {c.index_dir})" for c in collections]
    emit(args, {"collections": [c.to_json() for c in collections]}, "\n".join(lines))
    return EXIT_OK


def cmd_add(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Register a folder under a name; ``ingest --collection NAME`` indexes it."""
    added = _registry(args).add(args.name, args.folder)
    text = (
        f"added collection {added.name}: {added.documents_dir}\n"
        f"index it with: gpt4all-rag ingest --collection {added.name}"
    )
    emit(args, added.to_json(), text)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Forget a collection and delete its index, after --yes; its documents stay."""
    if not args.yes:
        print(
            f"remove deletes the index of collection {args.name} (its documents stay); "
            "run again with --yes to confirm",
            file=sys.stderr,
        )
        return EXIT_USAGE
    removed = _registry(args).remove(args.name)
    text = f"removed collection {removed.name}; its documents stay in {removed.documents_dir}"
    emit(args, {"removed": removed.to_json()}, text)
    return EXIT_OK
