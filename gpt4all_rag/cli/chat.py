"""``chat``: an interactive conversation with your documents."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gpt4all_rag.cli.ask import retrieval_parser, stream_answer
from gpt4all_rag.cli.common import EXIT_OK, AssistantFactory, filters_from, settings_from

if TYPE_CHECKING:
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.types import Message

__all__ = ["cmd_chat", "register"]


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``chat``."""
    chat = commands.add_parser(
        "chat", parents=[common, retrieval_parser()], help="interactive chat with history"
    )
    chat.set_defaults(handler=cmd_chat)


def cmd_chat(args: argparse.Namespace, make: AssistantFactory) -> int:
    """Interactive chat; history is kept for follow-up questions."""
    assistant = make(settings_from(args))
    history: list[Message] = []
    print("Ask your documents (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            break
        if not question:
            break
        answer = stream_answer(assistant, question, history, filters_from(args), quiet=False)
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]
    return EXIT_OK
