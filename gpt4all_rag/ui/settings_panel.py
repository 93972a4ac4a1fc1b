"""The sidebar's Settings expander: model, top-k, retrieval mode, temperature, answer style.

Top-k and the retrieval mode are arguments of each question; the rest goes into a
copy of the settings, which chooses the cached assistant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from gpt4all_rag.settings import Settings
from gpt4all_rag.settings_answering import AnswerStyle, RetrievalMode
from gpt4all_rag.ui.collections_panel import collection_admin
from gpt4all_rag.ui.models_panel import model_picker

__all__ = ["ANSWER_STYLES", "MODES", "MODE_LABELS", "STYLE_LABELS", "Choices", "settings_panel"]

MODES: tuple[RetrievalMode, ...] = ("hybrid", "vector", "keyword")
MODE_LABELS = {
    "hybrid": "Hybrid (meaning + keywords)",
    "vector": "Meaning (vector search)",
    "keyword": "Keywords (BM25)",
}
ANSWER_STYLES: tuple[AnswerStyle, ...] = ("both", "evidence", "generate")
STYLE_LABELS = {
    "both": "Quotes, then the model's answer",
    "evidence": "Quotes from your documents only (no model)",
    "generate": "The model's answer only",
}


@dataclass(frozen=True)
class Choices:
    """What the settings panel decided: the assistant's settings and the per-question knobs."""

    settings: Settings
    k: int
    mode: RetrievalMode


def settings_panel(base: Settings) -> Choices:
    """The Settings expander: model, top-k, retrieval mode, temperature and answer style."""
    with st.sidebar.expander("Settings"):
        update: dict[str, Any] = {}
        if base.llm_backend == "llama-cpp":
            update["model_path"] = model_picker(base)
        k = st.slider("Passages per answer (top-k)", 1, max(20, base.top_k), base.top_k, key="k")
        mode = st.selectbox(
            "Search",
            MODES,
            index=MODES.index(base.retrieval_mode),
            format_func=MODE_LABELS.__getitem__,
            key="mode",
        )
        update["temperature"] = st.slider(
            "Temperature", 0.0, 2.0, float(base.temperature), 0.05, key="temperature"
        )
        update["answer_style"] = st.selectbox(
            "Answer style",
            ANSWER_STYLES,
            index=ANSWER_STYLES.index(base.resolved_answer_style()),
            format_func=STYLE_LABELS.__getitem__,
            key="answer_style",
            help="Quotes from your documents are shown at once, before any model runs; a "
            "small model's answer can then say the same in its own words, or be left out.",
        )
        collection_admin(base)
    return Choices(base.model_copy(update=update), int(k), mode or base.retrieval_mode)
