"""``app.py`` under Streamlit's ``AppTest``, opened as ``make run``'s launch link opens it."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

__all__ = [
    "APP_TOKEN",
    "app_page",
    "DOCS",
    "QUESTION",
    "QUESTION_SHOWN",
    "REPLY",
    "FAST_TIMEOUT",
    "SLOW_TIMEOUT",
    "MANUAL_SOURCES",
    "EVIDENCE",
    "INVENTED",
    "until_shown",
    "replies",
    "add",
    "open_page",
    "sidebar_texts",
    "ask",
    "shown_markdown",
    "own_markdown",
    "answer_texts",
    "flow",
]

# The app's per-launch secret in every test, as `make run` would set it (issue 21, item 3);
# the autouse fixture in tests/conftest.py puts it in the environment.
APP_TOKEN = "launch-secret-for-tests"
APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"


def app_page(timeout: float) -> AppTest:
    """``app.py`` in ``AppTest``, opened with the launch link (``?token=APP_TOKEN``)."""
    from streamlit.testing.v1 import AppTest  # Streamlit is heavy: only tests of the page

    page = AppTest.from_file(str(APP_SCRIPT), default_timeout=timeout)
    page.query_params["token"] = APP_TOKEN
    return page


# --- the page on the fakes: what tests/ui's page tests share ------------------------

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "tests" / "data" / "docs"
QUESTION = "What is the core temperature of the Zorblax reactor?"
QUESTION_SHOWN = "What is the core temperature of the Zorblax reactor\\?"  # Markdown-escaped
REPLY = "The core runs at 451 kelvin [1]."
FAST_TIMEOUT = 60  # the first page of a process imports the app and reads the tokenizer
SLOW_TIMEOUT = 300  # the real embedding model and GGUF
MANUAL_SOURCES = ["\\[1\\] manual\\.pdf · page 2", "\\[2\\] manual\\.pdf · page 1"]
# The evidence the hash embedder picks for QUESTION from manual.pdf, quoted before any model:
# as many sentences as the word budget (80) holds, not three at most.
EVIDENCE = (
    "- “The Zorblax reactor operates at a core temperature of 451 kelvin\\.” \\[1\\] "
    ":gray[manual\\.pdf · page 2]\n"
    "- “This manual describes the safe operation of the Zorblax reactor\\.” \\[2\\] "
    ":gray[manual\\.pdf · page 1]\n"
    "- “Maintenance of the Zorblax reactor is required every 17 days\\.” \\[3\\] "
    ":gray[manual\\.pdf · page 3]\n"
    "- “Operators record the core temperature every hour in the control room journal\\.” "
    "\\[1\\] :gray[manual\\.pdf · page 2]\n"
    "- “The Zorblax is a compact research reactor built for university laboratories\\.” "
    "\\[2\\] :gray[manual\\.pdf · page 1]\n"
    "- “Write the date of every visit in the maintenance log\\.” \\[3\\] "
    ":gray[manual\\.pdf · page 3]"
)
INVENTED = "The reactor was designed by penguins living on Mars in 1802."


def until_shown(page: AppTest, shown: Callable[[AppTest], bool], timeout: float = 30) -> AppTest:
    """Run the page again (as its timer does in a browser) until ``shown`` holds; no click."""
    deadline = time.monotonic() + timeout
    while not shown(page) and time.monotonic() < deadline:
        time.sleep(0.3)
        page.run()
        assert not page.exception, page.exception
    assert shown(page), sidebar_texts(page)
    return page


def replies(monkeypatch: pytest.MonkeyPatch, *texts: str) -> None:
    """What the scripted model answers, in order (the last one repeats)."""
    monkeypatch.setenv("GPT4ALL_RAG_SCRIPTED_REPLIES", json.dumps(list(texts)))


def add(docs: Path, *names: str) -> None:
    for name in names:
        shutil.copy(DOCS / name, docs / name)


def open_page(timeout: int = FAST_TIMEOUT) -> AppTest:
    page = app_page(timeout)
    # A new tab waits FIRST_WAIT_S (5 s) for the first ingest; on a loaded machine that
    # can pass before the small test folder is indexed. These tests read the page after it.
    page.session_state["first_wait_s"] = timeout / 2
    page.run()
    assert not page.exception, page.exception
    return page


def sidebar_texts(page: AppTest) -> list[str]:
    return [m.value for m in page.sidebar.markdown]


def ask(page: AppTest, question: str = QUESTION) -> AppTest:
    page.chat_input(key="question").set_value(question).run()
    assert not page.exception, page.exception
    return page


def shown_markdown(page: AppTest) -> Iterator[str]:
    """Every piece of Markdown the page shows, labels included."""
    for kind in ("markdown", "caption", "error", "warning", "success", "info", "subheader"):
        yield from (element.value for element in page.get(kind))
    for kind in ("expander", "button", "download_button", "toggle", "selectbox", "slider"):
        yield from (element.label for element in page.get(kind))


def own_markdown(message: Any) -> list[str]:
    """A chat message's Markdown in page order, the passages in its source expanders left out."""
    return [m.value for m in message.markdown if not m.value.startswith('<div class="passage">')]


def answer_texts(page: AppTest) -> list[str]:
    """The answer text of each assistant message: its last Markdown, after the evidence."""
    return [own_markdown(m)[-1] for m in page.chat_message if m.name == "assistant"]


def flow(message: Any) -> list[tuple[str, str]]:
    """A chat message's captions and Markdown as (kind, text), in the order the page shows them."""
    kinds = {"caption", "markdown"}
    return [
        (e.type, e.value)
        for e in message
        if e.type in kinds and not e.value.startswith('<div class="passage">')
    ]
