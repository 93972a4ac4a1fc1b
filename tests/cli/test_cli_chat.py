"""``gpt4all-rag chat``: questions and slash commands read from stdin, on the fakes.

The commands run through the CLI's real ``main`` with the lines on ``sys.stdin``
(not a terminal: no readline, no history file), and once through the console
script with a pipe. The readline history is tested on its own.
"""

from __future__ import annotations

import io
import json
import os
import re
import readline
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.cli.chat import HELP, HISTORY_FILE, line_history
from gpt4all_rag.cli.main import main
from gpt4all_rag.documents.export import conversation_from_json
from gpt4all_rag.settings import Settings, bundled_gguf
from tests.helpers.cli import on_fakes
from tests.helpers.data import DOCS

SCRIPT = str(Path(sys.executable).with_name("gpt4all-rag"))
REACTOR = "What is the Zorblax reactor core temperature?"
BEES = "How long do queen bees live?"
REPLY = "It runs at 451 kelvin [1]."
SOURCE_LINE = re.compile(r"^[ *]\[\d+\] ([^\s:]+)", re.MULTILINE)
# The first source, cited: page 2 of the manual ("manual.pdf:2", or with its heading).
CITED_PAGE_2 = r"\*\[1\] manual\.pdf(?::2| · page 2)"


class Factory:
    """Builds assistants on the fakes and records the settings of each."""

    def __init__(self) -> None:
        self.built: list[Settings] = []

    def __call__(self, settings: Settings) -> DocumentAssistant:
        self.built.append(settings)
        return DocumentAssistant.from_settings(on_fakes(settings, scripted_replies=[REPLY]))


@pytest.fixture
def index(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "bees").mkdir(parents=True)
    shutil.copy(DOCS / "manual.pdf", docs / "manual.pdf")
    shutil.copy(DOCS / "notes.md", docs / "bees" / "notes.md")
    assert main(["ingest", str(docs), "--index", str(tmp_path / "index")], Factory()) == 0
    return tmp_path / "index"


Chat = Callable[..., str]


@pytest.fixture
def chat(
    index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., str]:
    """Run ``chat`` with these lines on stdin; its stdout."""

    def run(*lines: str, make: Factory | None = None) -> str:
        capsys.readouterr()
        monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
        assert main(["chat", "--index", str(index)], make or Factory()) == 0
        return capsys.readouterr().out

    return run


def test_sources_shows_the_last_answers_passages(chat: Chat) -> None:
    out = chat("/sources", REACTOR, "/sources")
    assert "> no answer yet\n" in out
    after = out.split(REPLY, 1)[1]
    assert re.search(rf"> {CITED_PAGE_2} \(score ", after)  # cited, after the prompt
    assert "    Operating Conditions The Zorblax reactor operates at a core temperature" in after


def files_per_line(out: str) -> list[set[str]]:
    """For each input line, the files of the sources listed under its answer."""
    return [{m.group(1) for m in SOURCE_LINE.finditer(block)} for block in out.split("> ")[1:]]


def test_filter_restricts_to_a_file_or_folder_and_alone_clears(chat: Chat) -> None:
    lines = ["/filter bees", BEES, "/filter manual.pdf", REACTOR, "/filter nowhere"]
    out = chat(*lines, "/filter", REACTOR)

    files = files_per_line(out)
    assert files[1] == {"bees/notes.md"} and files[3] == {"manual.pdf"}
    assert files[6] == {"bees/notes.md", "manual.pdf"}
    assert "Asking only bees now (/filter alone: all files)." in out
    assert "Asking only manual.pdf now" in out
    assert "no indexed file or folder nowhere; the filter is unchanged" in out
    assert "Asking all files again." in out


def test_model_switches_by_rebuilding_the_assistant(chat: Chat, tmp_path: Path) -> None:
    gguf = tmp_path / "other.gguf"
    shutil.copy(bundled_gguf(), gguf)
    make = Factory()
    out = chat("/model", f"/model {tmp_path / 'missing.gguf'}", f"/model {gguf}", make=make)
    assert "> Model: scripted\n" in out
    assert f"no model file {tmp_path / 'missing.gguf'}; the model is unchanged" in out
    assert [s.model_path for s in make.built] == [None, gguf.resolve()]


def test_export_saves_markdown_and_json_with_the_sources(chat: Chat, tmp_path: Path) -> None:
    md, data = tmp_path / "talk.md", tmp_path / "talk.json"
    out = chat(REACTOR, f"/export {md}", f"/export {data}", f"/export {tmp_path / 'x.txt'}")
    assert f"Saved 1 answer(s) to {md}." in out and f"Saved 1 answer(s) to {data}." in out
    assert "could not export: export to a .md or .json file, not 'x.txt'" in out
    assert "- [1] manual.pdf, page 2" in md.read_text(encoding="utf-8").splitlines()
    [answer] = conversation_from_json(data.read_text(encoding="utf-8"))
    assert (answer.question, answer.text, answer.sources[0].page) == (REACTOR, REPLY, 2)


def test_help_unknown_commands_and_quit(chat: Chat, index: Path) -> None:
    out = chat("/help", "/frobnicate", "/quit", REACTOR)
    assert HELP in out
    assert "unknown command /frobnicate; /help lists them" in out
    assert REPLY not in out  # /quit ended the chat before the question
    assert not (index / HISTORY_FILE).exists()  # stdin is no terminal: no history written


def test_history_is_read_and_written_back_with_owner_only_access(tmp_path: Path) -> None:
    path = tmp_path / "state" / HISTORY_FILE
    readline.clear_history()
    with line_history(path, enabled=True):
        readline.add_history("first question")
    readline.clear_history()

    with line_history(path, enabled=True):
        assert readline.get_current_history_length() == 1
        assert readline.get_history_item(1) == "first question"
        readline.add_history("second question")
    readline.clear_history()

    assert "second question" in path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o777 == 0o600
    with line_history(tmp_path / "never", enabled=False):
        readline.add_history("not kept")
    assert not (tmp_path / "never").exists()
    readline.clear_history()


def test_the_console_script_chats_from_a_pipe(index: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GPT4ALL_RAG_EMBEDDING_BACKEND": "hash",
        "GPT4ALL_RAG_LLM_BACKEND": "scripted",
        "GPT4ALL_RAG_RELEVANCE_FLOOR": "0.1",
        "GPT4ALL_RAG_SCRIPTED_REPLIES": json.dumps([REPLY]),
    }
    lines = f"{REACTOR}\n/sources\n/export {tmp_path / 'talk.md'}\n"
    done = subprocess.run(
        [SCRIPT, "chat", "--index", str(index)],
        input=lines,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert REPLY in done.stdout and re.search(CITED_PAGE_2, done.stdout)
    assert (tmp_path / "talk.md").is_file()
    assert not (index / HISTORY_FILE).exists()
