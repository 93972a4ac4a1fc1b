"""The ``gpt4all-rag`` command line.

One module per command family; each has ``register(commands, common)``, which adds its
sub-parsers with ``set_defaults(handler=...)``. Command modules import their heavy
dependencies inside the handlers, so that parsing the arguments stays fast.

Exit codes: 0 success, 1 some files failed (the rest were indexed), 2 a usage
or setup error (a missing model, an unreachable store, a bad argument).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gpt4all_rag.cli.common import (
    EXIT_USAGE,
    MULTI_COLLECTION_COMMANDS,
    AskerFactory,
    AssistantFactory,
    common_parser,
    default_factory,
    with_collections,
)
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.reporting import terminal_text

__all__ = ["AssistantFactory", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "index",
    "watch",
    "ask",
    "chat",
    "summarize",
    "eval",
    "models",
    "serve",
    "collections",
    "show",
    "finetune",
)
"""The modules of ``gpt4all_rag.cli`` that add commands, in the order of ``--help``."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpt4all-rag", description="Private, local chat with your documents."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = common_parser()
    for name in COMMAND_MODULES:
        importlib.import_module(f"gpt4all_rag.cli.{name}").register(commands, common)
    return parser


def main(
    argv: Sequence[str] | None = None, assistant_factory: AssistantFactory | None = None
) -> int:
    """Run one command; errors become one line on stderr and exit code 2.

    Args:
        argv: The arguments (default: the process's).
        assistant_factory: Builds the assistant from the command's settings;
            default ``DocumentAssistant.from_settings``.
    """
    args = _parser().parse_args(argv)
    base = assistant_factory or default_factory
    make: AssistantFactory | AskerFactory = base
    if args.command in MULTI_COLLECTION_COMMANDS:  # their handlers take an AskerFactory
        make = with_collections(args, base)
    try:
        return int(args.handler(args, make))
    except USER_ERRORS as exc:
        print(terminal_text(f"gpt4all-rag: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError) as exc:  # bad settings values, unreadable folders
        print(terminal_text(f"gpt4all-rag: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; the next ingest repairs the index", file=sys.stderr)
        return 130
