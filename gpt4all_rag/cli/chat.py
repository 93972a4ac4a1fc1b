"""``chat``: an interactive conversation with your documents, with slash commands.

Questions are kept as history for follow-ups. In a terminal the line is
editable (readline) and earlier questions come back with the arrow keys, also in
the next session: they are kept in ``chat_history`` in the index folder. With
stdin from a pipe or a file, readline is left alone and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.cli.ask import retrieval_parser, stream_answer
from gpt4all_rag.cli.common import EXIT_OK, AskerFactory, filters_from, settings_from
from gpt4all_rag.cli.summarize import document_path, documents_folder
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.reporting import terminal_text

if TYPE_CHECKING:
    from gpt4all_rag.answer import Answer
    from gpt4all_rag.answering.asking import Asker
    from gpt4all_rag.cli.common import Subcommands
    from gpt4all_rag.types import Message
    from vectorstore.retriever import Filters

__all__ = ["HELP", "HISTORY_FILE", "ChatSession", "cmd_chat", "line_history", "register"]

HISTORY_FILE = "chat_history"
"""The file in the index folder that keeps the questions typed in a terminal."""

HISTORY_LENGTH = 1000

HELP = """\
Commands:
  /sources          the passages the last answer was given (* = cited)
  /filter PATH      ask only this file or folder; /filter alone: all files again
  /model PATH       answer with another GGUF model file; /model alone: the one in use
  /export FILE      save the conversation with its sources, as FILE.md or FILE.json
  /help             this list
  /quit             leave (so do an empty line and Ctrl-D)"""


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``chat``."""
    chat = commands.add_parser(
        "chat", parents=[common, retrieval_parser()], help="interactive chat with history"
    )
    chat.set_defaults(handler=cmd_chat)


@contextmanager
def line_history(path: Path, enabled: bool | None = None) -> Iterator[None]:
    """Editable input lines with the history in ``path``, read now and written back at the end.

    ``enabled`` defaults to whether stdin is a terminal: a pipe has no line to
    edit, and a scripted session should leave no history behind.
    """
    if enabled is None:
        enabled = sys.stdin.isatty()
    if not enabled:
        yield
        return
    import readline  # after the check: importing it changes how input() reads a terminal

    readline.set_history_length(HISTORY_LENGTH)
    if path.is_file():
        readline.read_history_file(path)
    try:
        yield
    finally:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)  # questions can be private: owner only
        readline.write_history_file(path)


@dataclass
class ChatSession:
    """The conversation and what the slash commands change: filters, model, answers."""

    assistant: Asker
    make: AskerFactory
    filters: Filters | None = None
    answers: list[Answer] = field(default_factory=list)
    history: list[Message] = field(default_factory=list)

    def ask(self, question: str) -> None:
        """Answer with the current filters; a failure or Ctrl-C is shown and the chat goes on."""
        try:
            answer = stream_answer(self.assistant, question, self.history, self.filters, False)
        except USER_ERRORS as exc:
            say(f"error: {exc}")
            return
        except KeyboardInterrupt:
            say("\n(answer stopped)")
            return
        self.answers.append(answer)
        self.history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]

    def command(self, line: str) -> None:
        """Run one slash command."""
        name, _, argument = line.partition(" ")
        handler = self.commands().get(name.lower())
        if handler is None:
            say(f"unknown command {name}; /help lists them")
            return
        handler(argument.strip())

    def commands(self) -> dict[str, Callable[[str], None]]:
        """Each slash command's handler, by name."""
        return {
            "/sources": self.sources,
            "/filter": self.filter,
            "/model": self.model,
            "/export": self.export,
            "/help": lambda _: say(HELP),
        }

    def sources(self, _: str = "") -> None:
        """Show the last answer's passages, with file, page and score."""
        if not self.answers:
            say("no answer yet")
            return
        last = self.answers[-1]
        if not last.found:
            say("the last answer found no passage")
        for source in last.sources:
            mark = "*" if source.number in last.cited else " "
            where = getattr(source, "caption", source.label)  # file:page, and its heading
            say(f"{mark}[{source.number}] {where} (score {source.score:.3f})")
            say("    " + " ".join(source.text.split()))

    def filter(self, target: str) -> None:
        """Restrict the questions to an indexed file or a folder; no argument: all files."""
        from vectorstore.retriever import Filters  # numpy: on use only

        if not target:
            self.filters = None
            say("Asking all files again.")
            return
        path = document_path(target, documents_folder(self.assistant)).strip("/")
        indexed = indexed_paths(self.assistant)
        if path in indexed:
            self.filters = Filters(files=(path,))
        elif path and any(p.startswith(f"{path}/") for p in indexed):
            self.filters = Filters(folder=path)
        else:
            say(f"no indexed file or folder {path}; the filter is unchanged")
            return
        say(f"Asking only {path} now (/filter alone: all files).")

    def model(self, target: str) -> None:
        """Switch to another GGUF file: the assistant is built again with it."""
        if not target:
            say(f"Model: {self.assistant.model_name}")
            return
        path = Path(target).expanduser()
        if not path.is_file():
            say(f"no model file {path}; the model is unchanged")
            return
        settings = self.assistant.settings.model_copy(update={"model_path": path.resolve()})
        try:
            self.assistant = self.make(settings)
        except USER_ERRORS as exc:
            say(f"error: {exc}; the model is unchanged")
            return
        say(f"Model: {self.assistant.model_name} (loaded at the next question)")

    def export(self, target: str) -> None:
        """Save the answers so far, with their sources, as Markdown or JSON."""
        from gpt4all_rag.documents.export import export_conversation  # numpy: on use only

        if not target:
            say("/export needs a file name ending in .md or .json")
            return
        try:
            path = export_conversation(self.answers, target, model=self.assistant.model_name)
        except (ValueError, OSError) as exc:
            say(f"could not export: {exc}")
            return
        say(f"Saved {len(self.answers)} answer(s) to {path}.")


def indexed_paths(assistant: Asker) -> list[str]:
    """The indexed files; of every collection when the chat asks several (``--collection``)."""
    return [document.path for document in assistant.documents()]


def say(text: str) -> None:
    """One line (or block) for the user, terminal controls removed."""
    print(terminal_text(text))


def cmd_chat(args: argparse.Namespace, make: AskerFactory) -> int:
    """Interactive chat; history is kept for follow-up questions, ``/help`` lists commands."""
    session = ChatSession(make(settings_from(args)), make, filters_from(args))
    with line_history(session.assistant.settings.index_dir / HISTORY_FILE):
        print("Ask your documents (/help for commands; empty line or Ctrl-D to quit).")
        while True:
            try:
                line = input("> ").strip()
            except EOFError:
                break
            if not line or line.lower() in ("/quit", "/exit"):
                break
            if line.startswith("/"):
                session.command(line)
            else:
                session.ask(line)
    return EXIT_OK
