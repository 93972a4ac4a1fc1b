"""The page's layout: the sidebar (documents, settings, feedback), then the chat.

``app.py`` calls :func:`main` on every run: Streamlit runs the script again from the
top on each click, and what must outlive a run is in the session state
(``ui.state``) or shared by the process (``ui.resources``).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from gpt4all_rag.markdown import code_span
from gpt4all_rag.ui.chat import chat
from gpt4all_rag.ui.collections_panel import (
    collection_picker,
    collection_set,
    other_collections_section,
)
from gpt4all_rag.ui.documents import documents_section
from gpt4all_rag.ui.feedback_panel import feedback_section
from gpt4all_rag.ui.indexing import background_indexer, indexing_news, indexing_status
from gpt4all_rag.ui.launch import APP_TOKEN_VARIABLE, token_matches
from gpt4all_rag.ui.models_panel import better_model_panel, model_captions, model_problem
from gpt4all_rag.ui.persist import restore_session, save_choices
from gpt4all_rag.ui.resources import assistant_for, base_settings
from gpt4all_rag.ui.settings_panel import settings_panel
from gpt4all_rag.ui.state import init_state, new_chat, notices_seen, show_notices
from gpt4all_rag.ui.summaries import summary_panel

__all__ = ["LAUNCH_LINK_NOTE", "empty_folder_info", "main", "opened_with_the_launch_link"]

LAUNCH_LINK_NOTE = (
    "Open the link printed in the terminal where the app was started (`make run`): "
    "it holds this launch's secret."
)


def main() -> None:
    """Lay out the page: sidebar (documents, settings, feedback), then the chat."""
    st.set_page_config(page_title="Chat with your documents", page_icon="📄", layout="wide")
    if not opened_with_the_launch_link():
        # Other local users reach 127.0.0.1 too: without this launch's secret the page
        # loads nothing, reads no settings and touches no index.
        st.info(LAUNCH_LINK_NOTE)
        st.stop()
    init_state()
    st.sidebar.button(
        "New chat", key="new_chat", on_click=new_chat, type="primary", width="stretch"
    )
    documents_box = st.sidebar.container()
    base = base_settings()
    restore_session(base)
    with documents_box:
        names = collection_picker(base)
    choices = settings_panel(base.model_copy(update={"collection": names[0]}))
    better_model_panel(choices.settings)
    assistant = assistant_for(choices.settings)
    save_choices(base)  # once the index folder is claimed: nothing else may create it
    asker = collection_set(assistant, names, choices.settings)
    model_captions(assistant)
    with st.sidebar:
        feedback_section(assistant.settings)
    st.title("Chat with your documents")
    with documents_box:
        bars = st.empty()  # drawn on every run, so that nothing below it moves
        with bars.container():
            indexer = background_indexer(assistant)
        state = indexing_news(indexer)
        indexed = documents_section(assistant, state, bars)
        indexed += other_collections_section(asker)
        show_notices()
    indexing_status(indexer, state)  # may rerun the page: its notices are then shown again
    notices_seen()
    problem = model_problem(assistant.settings)
    if problem:
        st.error(problem)
    busy = state.syncing and not state.first_done
    with st.empty():  # one slot on every run: the chat below never shifts
        if not indexed and not busy:
            empty_folder_info(assistant.settings.documents_dir)
    summary_panel(assistant)
    chat(asker, choices, bool(indexed) or busy)


def opened_with_the_launch_link() -> bool:
    """Whether this tab came with the launch's secret (``?token=``); remembered for reruns.

    The link stays in the address bar, so a reload opens a new session that passes too.
    """
    if not st.session_state.get("launch_link_checked"):
        given = st.query_params.get("token")
        if not token_matches(given, os.environ.get(APP_TOKEN_VARIABLE)):
            return False
        st.session_state.launch_link_checked = True
    return True


def empty_folder_info(folder: Path) -> None:
    """What to do when nothing is indexed yet."""
    st.info(
        "**No documents yet.** Add files with **Add documents** in the sidebar, or copy them "
        f"into {code_span(str(folder))} and press **Rescan folder**. PDF, Word, PowerPoint, "
        "EPUB, Markdown, HTML, CSV, e-mail and text files are supported."
    )
