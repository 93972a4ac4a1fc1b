"""A tab's session state: its keys, the notices kept for the next run, the conversation.

Streamlit runs the page again from the top on every click, and each tab has its own
``st.session_state``; what must outlive one run lives there, under the keys set here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

__all__ = [
    "chat_history",
    "init_state",
    "new_chat",
    "next_id",
    "notices_seen",
    "notify",
    "show_notices",
]


def init_state() -> None:
    """Per-tab state, created on the first run of a session."""
    defaults: dict[str, Any] = {
        "messages": [],
        "next_id": 0,
        "uploader": 0,
        "notices": [],
        "notices_shown": [],
        "confirm_delete": None,
        "exported": None,
        "queued": [],
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def notify(kind: str, text: str) -> None:
    """Keep a message to show on the next run (uploads and deletes rerun the page)."""
    st.session_state.notices.append((kind, text))


def show_notices() -> None:
    """Show, then forget, the messages kept by ``notify``.

    A run the page cuts short itself (the indexing status calls ``st.rerun`` when the
    watcher's sync starts or ends, often just after a delete) would take its notices
    with it: what this run shows is kept until ``notices_seen`` and shown again by
    the rerun.
    """
    notices = st.session_state.notices_shown + st.session_state.notices
    for kind, text in notices:
        getattr(st, kind)(text)
    st.session_state.notices = []
    st.session_state.notices_shown = notices


def notices_seen() -> None:
    """The run went past the point where the page reruns itself: its notices stay seen."""
    st.session_state.notices_shown = []


def new_chat() -> None:
    """Forget the conversation (the documents and index stay), on disk too."""
    st.session_state.messages = []
    path = st.session_state.get("conversation_file")
    if path:
        Path(path).unlink(missing_ok=True)


def next_id() -> int:
    """A number no other message of this tab has (widget keys are built from it)."""
    st.session_state.next_id += 1
    return int(st.session_state.next_id)


def chat_history() -> list[dict[str, str]]:
    """The conversation as the assistant takes it: answered turns only, errors left out."""
    history: list[dict[str, str]] = []
    for message in st.session_state.messages:
        if message["role"] == "assistant" and message.get("answer") is not None:
            history.append({"role": "user", "content": message["question"]})
            history.append({"role": "assistant", "content": message["content"]})
    return history
