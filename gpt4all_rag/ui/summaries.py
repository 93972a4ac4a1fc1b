"""A document's summary above the chat: its row's button, the streamed summary, its close.

The summary's sentences are checked against the document, as answers are: those
that fail are grey with a note. A summary whose claims mostly fail says so, shows
the document's key sentences first and the model's text folded below them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from gpt4all_rag.answering.flow import TokenEvent
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.summarize.checking import MOSTLY_UNSUPPORTED
from gpt4all_rag.documents.summarize.results import Section, Summary, SummaryProgress
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.markdown import escape_text, safe_markdown
from gpt4all_rag.reporting import count
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport
from gpt4all_rag.ui.render import (
    CURSOR,
    NOT_FOUND_NOTE,
    marked_sentences,
    muted,
    summary_fraction,
    summary_step,
)

__all__ = [
    "DRAFT_LABEL",
    "checked_markdown",
    "quotes_markdown",
    "show_summary",
    "show_summary_of",
    "stream_summary",
    "summary_body",
    "summary_button",
    "summary_panel",
]

DRAFT_LABEL = "The model's summary (most of it failed the source check)"


def summary_button(column: Any, path: str) -> None:
    """The button on a document's row that shows its summary above the chat."""
    column.button(
        "",
        icon=":material/summarize:",
        key=f"summarize-{path}",
        help="Summarize this document with the model, citing its pages",
        on_click=show_summary_of,
        args=(path,),
    )


def show_summary_of(path: str | None) -> None:
    """Show the summary of ``path`` (None: close it); a button's callback."""
    st.session_state.summary_of = path


def summary_panel(assistant: DocumentAssistant) -> None:
    """The summary the user asked for, above the chat, with a button to close it."""
    slot = st.empty()  # on every run, so the chat below never shifts
    path = st.session_state.get("summary_of")
    if path is None:
        return
    # A new container in the slot: nothing of the summary shown before (another
    # file's) can stand greyed under this one's title while it is written.
    with slot.container(border=True):
        title, close = st.columns([8, 1], vertical_alignment="center")
        title.subheader(f"Summary of {escape_text(path)}")
        close.button(
            "",
            icon=":material/close:",
            key="summary-close",
            help="Close the summary",
            on_click=show_summary_of,
            args=(None,),
        )
        try:
            summary = stream_summary(assistant, path)
        except USER_ERRORS as exc:
            st.error(f"Could not summarize {escape_text(path)}: {escape_text(str(exc))}")
            return
        show_summary(summary)


def stream_summary(assistant: DocumentAssistant, path: str) -> Summary:
    """Run the summary with a progress bar and the final text as it streams; return it.

    A cached summary comes back at once, without loading the model.
    """
    progress = st.progress(0.0, text="Reading the document…")
    shown = st.empty()
    text = ""
    finished: list[Summary] = []
    for event in assistant.summary_events(path):
        if isinstance(event, SummaryProgress):
            progress.progress(summary_fraction(event), text=summary_step(event))
        elif isinstance(event, TokenEvent):
            text += event.text
            shown.markdown(safe_markdown(text + CURSOR))
        elif isinstance(event, Summary):
            finished.append(event)
    progress.empty()
    shown.empty()
    return finished[-1]


def show_summary(summary: Summary) -> None:
    """The summary, its sections with their pages, and what it took.

    A summary whose claims mostly fail the check is not shown as the summary: a
    caption says so, the document's key sentences come first, the model's text
    folded under them.
    """
    if summary.mostly_unsupported:
        st.caption(MOSTLY_UNSUPPORTED)
        st.markdown(quotes_markdown(summary.quotes))
        with st.expander(DRAFT_LABEL):
            st.markdown(summary_body(summary))
    else:
        st.markdown(summary_body(summary))
    how = "cached" if summary.cached else f"{summary.seconds:.0f} s"
    pages = f" · {count(len(summary.pages), 'page')}" if summary.pages else ""
    calls = count(summary.llm_calls, "model call")
    st.caption(f"{escape_text(summary.model)} · {calls} · {how}{pages}")


def checked_markdown(text: str, sentences: Sequence[SentenceSupport]) -> str:
    """A checked text as safe Markdown: unsupported sentences grey, with a note.

    Where the marks cannot be placed (code in the text), the text is plain and
    its unsupported sentences are listed under it.
    """
    shown = marked_sentences(sentences) if sentences else None
    if shown is not None:
        return shown.markdown
    failed = [s for s in sentences if not s.supported]
    notes = [f"{NOT_FOUND_NOTE.capitalize()}: “{escape_text(s.text.strip())}”" for s in failed]
    return "\n\n".join([safe_markdown(text), *notes])


def summary_body(summary: Summary) -> str:
    """The summary with its checks, then each section with its pages and checks."""
    parts = [checked_markdown(summary.text, summary.sentences)]
    if len(summary.sections) > 1:
        parts.append("By section:")
        parts.append("\n".join(_section_item(s) for s in summary.sections))
    return "\n\n".join(parts)


def _section_item(section: Section) -> str:
    body = " ".join(checked_markdown(section.text, section.sentences).split("\n"))
    label = f"{muted(escape_text(f'({section.label})'))} " if section.label else ""
    return f"- {label}{body}"


def quotes_markdown(quotes: Sequence[Evidence]) -> str:
    """The document's key sentences as a Markdown list, each with its page."""
    return "\n".join(
        f"- “{escape_text(' '.join(q.text.split()))}”"
        + (f" {muted(f'p. {q.page}')}" if q.page is not None else "")
        for q in quotes
    )
