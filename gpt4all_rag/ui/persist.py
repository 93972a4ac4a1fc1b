"""What a tab keeps across reloads: the sidebar's choices and the conversation.

Session state ends with the tab. The sidebar's choices and the conversation are
written to the index folder (this computer only, readable by its owner alone), and
a new tab starts from them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import streamlit as st

from gpt4all_rag.documents.export import conversation_from_json, conversation_json
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.collections_panel import collection_names
from gpt4all_rag.ui.render import shown_answer
from gpt4all_rag.ui.settings_panel import ANSWER_STYLES, MODES
from gpt4all_rag.ui.state import next_id

__all__ = [
    "APP_SETTINGS_FILE",
    "CONVERSATION_FILE",
    "SAVED_CHOICES",
    "restore_session",
    "save_choices",
    "save_conversation",
    "saved_choices",
    "saved_conversation",
    "write_private",
]

APP_SETTINGS_FILE = "app-settings.json"  # the sidebar's choices, kept across reloads
CONVERSATION_FILE = "conversation.json"  # the current conversation, kept across reloads
SAVED_CHOICES = ("k", "mode", "temperature", "answer_style", "feedback_on", "collections")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` whole (a temporary file, then a rename), readable by the owner alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def restore_session(base: Settings) -> None:
    """On a tab's first run: the saved choices into the widgets' state, and the conversation."""
    if st.session_state.get("restored"):
        return
    st.session_state.restored = True
    st.session_state.conversation_file = str(base.index_dir / CONVERSATION_FILE)
    for key, value in saved_choices(base).items():
        st.session_state.setdefault(key, value)
    st.session_state.saved_choices = saved_choices(base)
    if not st.session_state.messages:
        st.session_state.messages = saved_conversation(base)


def saved_choices(base: Settings) -> dict[str, Any]:
    """The choices saved by an earlier tab, those still valid (a bad file gives none)."""
    try:
        saved = json.loads((base.index_dir / APP_SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    valid = {
        "k": lambda v: isinstance(v, int) and 1 <= v <= max(20, base.top_k),
        "mode": lambda v: v in MODES,
        "temperature": lambda v: isinstance(v, int | float) and 0.0 <= v <= 2.0,
        "answer_style": lambda v: v in ANSWER_STYLES,
        "feedback_on": lambda v: isinstance(v, bool),
        "collections": lambda v: isinstance(v, list) and set(v) <= set(collection_names(base)),
    }
    return {key: value for key, value in saved.items() if key in valid and valid[key](value)}


def save_choices(base: Settings) -> None:
    """Write the sidebar's choices when they changed since the last write of this tab."""
    choices = {key: st.session_state[key] for key in SAVED_CHOICES if key in st.session_state}
    if choices == st.session_state.get("saved_choices") or not base.index_dir.is_dir():
        return
    try:
        write_private(base.index_dir / APP_SETTINGS_FILE, json.dumps(choices, indent=2))
    except OSError:
        return  # kept for this tab; the next change tries again
    st.session_state.saved_choices = choices


def saved_conversation(base: Settings) -> list[dict[str, Any]]:
    """The messages of the conversation an earlier tab saved (its answered turns)."""
    try:
        answers = conversation_from_json(
            (base.index_dir / CONVERSATION_FILE).read_text(encoding="utf-8")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return []
    style = st.session_state.get("answer_style", base.answer_style)
    messages: list[dict[str, Any]] = []
    for answer in answers:
        messages.append({"role": "user", "content": answer.question})
        messages.append(
            {
                "role": "assistant",
                "question": answer.question,
                "id": next_id(),
                "content": answer.text,
                "answer": answer,
                "evidence": answer.evidence,
                "shown": shown_answer(answer, style),
                "error": None,
            }
        )
    return messages


def save_conversation(model: str) -> None:
    """Write the answered turns of this tab's conversation for the next tab to open with."""
    path = st.session_state.get("conversation_file")
    answers = [m["answer"] for m in st.session_state.messages if m.get("answer") is not None]
    if not path or not answers:
        return
    try:
        write_private(Path(path), conversation_json(answers, model=model))
    except OSError:
        return  # the conversation stays in this tab
