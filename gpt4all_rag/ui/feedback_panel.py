"""Opt-in feedback: 👍/👎 under each answer, kept on this computer, liked answers exported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from gpt4all_rag.answer import Answer
from gpt4all_rag.documents.feedback import FeedbackStore
from gpt4all_rag.markdown import code_span, escape_text
from gpt4all_rag.reporting import count
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.resources import FEEDBACK_FILE, feedback_store

__all__ = ["FINETUNE_FILE", "exported_download", "feedback_section", "save_rating"]

FINETUNE_FILE = "finetune.jsonl"


def feedback_section(settings: Settings) -> None:
    """The opt-in toggle, and the export of liked answers for fine-tuning."""
    st.toggle(
        "Save feedback on this computer",
        key="feedback_on",
        help="Adds 👍/👎 under each answer. Ratings are written to "
        f"{code_span(str(settings.index_dir / FEEDBACK_FILE))} and never leave this computer.",
    )
    if not st.session_state.feedback_on:
        return
    if st.button("Export liked answers (JSONL)", key="export"):
        target = settings.index_dir / FINETUNE_FILE
        try:
            written = feedback_store(settings).export_finetune(target)
        except OSError as exc:
            st.error(f"Could not export: {escape_text(str(exc))}")
            return
        st.session_state.exported = (str(target), written)
    if st.session_state.exported:
        exported_download(*st.session_state.exported)


def exported_download(path: str, written: int) -> None:
    """Where the export went, and a button to download it."""
    st.success(f"Exported {count(written, 'liked answer')} to {code_span(path)}.")
    file = Path(path)
    if file.is_file():
        st.download_button(
            "Download the JSONL",
            data=file.read_bytes(),
            file_name=FINETUNE_FILE,
            mime="application/jsonl",
            key="download_export",
            on_click="ignore",
        )


def save_rating(message: dict[str, Any], store: FeedbackStore) -> None:
    """Record the thumbs a user just gave an answer (the feedback widget's callback)."""
    value = st.session_state.get(f"feedback-{message['id']}")
    answer: Answer | None = message.get("answer")
    if value is None or answer is None:
        return
    context = [source.text for source in answer.sources]
    try:
        store.record(message["question"], context, message["content"], 1 if value == 1 else -1)
    except OSError as exc:
        st.toast(f"Could not save the rating: {escape_text(str(exc))}")
