"""The sidebar's documents: uploads, the Rescan button, the failed, indexed and left-out files."""

from __future__ import annotations

from typing import Any

import streamlit as st

from gpt4all_rag.assistant.background import IndexingState
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.uploads import UploadRejected, save_upload
from gpt4all_rag.markdown import code_span, escape_text
from gpt4all_rag.reporting import count
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.collections_panel import indexed_title
from gpt4all_rag.ui.indexing import sync
from gpt4all_rag.ui.removal import include_document, trash_button
from gpt4all_rag.ui.resources import assistant_for
from gpt4all_rag.ui.state import notify
from gpt4all_rag.ui.summaries import summary_button

__all__ = [
    "ask_rescan",
    "document_list",
    "document_row",
    "documents_section",
    "excluded_list",
    "failure_list",
    "failure_row",
    "rescan",
    "save_uploads",
    "upload_section",
]


def documents_section(assistant: DocumentAssistant, state: IndexingState, bars: Any) -> int:
    """The sidebar's documents part; returns how many files are indexed.

    Progress bars go into ``bars``, one slot drawn on every run, and the list is
    drawn into a new container each run: rows never shift between runs, so no
    greyed copy of a row from the run before stands in the list while an answer
    streams.
    """
    folder = assistant.settings.documents_dir
    st.header("Documents")
    upload_section(assistant, bars)
    watched = state.watch is not None and state.watch.watching
    st.caption(f"Folder: {code_span(str(folder))}" + (" · watched for changes" if watched else ""))
    st.button(
        "Rescan folder",
        key="rescan",
        help="Index files added, changed or removed outside the app (the folder is also "
        "watched while the app runs)",
        on_click=ask_rescan,
    )
    if st.session_state.pop("rescan_now", False):
        with bars.container():
            rescan(assistant, st.session_state.get("collections") or [])
    with st.empty().container():
        return document_list(assistant)


def upload_section(assistant: DocumentAssistant, bars: Any) -> None:
    """The uploader: save, index (its bar in ``bars``), then clear it (a new key) and rerun."""
    files = st.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        key=f"uploader-{st.session_state.uploader}",
        help="PDF, Word, PowerPoint, EPUB, Markdown, HTML, CSV, e-mail, JSON, text and source "
        "files. They are copied into the documents folder and indexed.",
    )
    if not files:
        return
    save_uploads(assistant.settings, list(files))
    with bars.container():
        sync(assistant)
    st.session_state.uploader += 1
    st.rerun()


def save_uploads(settings: Settings, files: list[Any]) -> None:
    """Save uploaded files into the documents folder, saying what happened to each."""
    for upload in files:
        name = escape_text(upload.name)
        try:
            saved = save_upload(
                settings.documents_dir, upload.name, upload.getvalue(), settings.max_file_mb
            )
        except UploadRejected as exc:
            notify("error", f"{name} was not added: {escape_text(exc.reason)}.")
            continue
        except OSError as exc:
            notify("error", f"{name} could not be saved: {escape_text(exc.strerror or str(exc))}.")
            continue
        if saved.name != upload.name:
            notify(
                "warning",
                f"A different file named {name} is already in the folder; "
                f"the upload was saved as {escape_text(saved.name)}.",
            )


def ask_rescan() -> None:
    """The Rescan button's callback: the rescan runs in the page, where its bar can show."""
    st.session_state.rescan_now = True


def rescan(assistant: DocumentAssistant, names: list[str]) -> None:
    """Sync every chosen collection, each with its own notice (one: no name in it)."""
    if len(names) < 2:
        sync(assistant)
        return
    for name in names:
        owner = assistant if name == assistant.settings.collection else None
        owner = owner or assistant_for(assistant.settings.model_copy(update={"collection": name}))
        sync(owner, label=f"{escape_text(name)}: ")


def document_list(assistant: DocumentAssistant) -> int:
    """The files that failed (first, in an error box), then the indexed ones; how many."""
    failure_list(assistant)
    documents = assistant.documents()
    warnings = dict(assistant.status().warnings)  # files indexed only in part, and why
    st.subheader(indexed_title(assistant.settings, len(documents)))
    for document in documents:
        warning = warnings.get(document.path, "")
        document_row(assistant, document.path, document.chunks, warning)
    excluded_list(assistant)
    return len(documents)


def document_row(assistant: DocumentAssistant, path: str, chunks: int, warning: str = "") -> None:
    """One indexed file: its name, chunk count, why it was read only in part, a delete button."""
    name, summarize, action = st.columns([4, 1, 1], vertical_alignment="center")
    note = f"  \n:material/warning: {escape_text(warning)}" if warning else ""
    name.markdown(f"**{escape_text(path)}**  \n{count(chunks, 'chunk')}{note}")
    summary_button(summarize, path)
    trash_button(
        assistant,
        action,
        path,
        f"delete-{path}",
        "Move this file to the trash (it leaves the index too)",
    )


def failure_list(assistant: DocumentAssistant) -> None:
    """Files that could not be indexed, in an error box above the list, each with a trash button."""
    failures = assistant.failures()
    if not failures:
        return
    with st.container(border=True, key="failures"):
        st.error(f"{count(len(failures), 'file')} could not be indexed", icon=":material/error:")
        for path, reason in failures:
            failure_row(assistant, path, reason)


def failure_row(assistant: DocumentAssistant, path: str, reason: str) -> None:
    """A file that failed: its name and reason, and a button to move it to the trash."""
    name, action = st.columns([5, 1], vertical_alignment="center")
    name.markdown(f"**{escape_text(path)}**: {escape_text(reason)}")
    trash_button(assistant, action, path, f"delete-failed-{path}", "Move this file to the trash")


def excluded_list(assistant: DocumentAssistant) -> None:
    """Files kept in the folder but taken out of the index, each with an "Index again" button."""
    excluded = assistant.excluded_documents()
    if not excluded:
        return
    with st.expander(f"Left out of the index ({len(excluded)})"):
        for path in excluded:
            name, action = st.columns([5, 1], vertical_alignment="center")
            name.markdown(f"**{escape_text(path)}**")
            action.button(
                "",
                icon=":material/undo:",
                key=f"include-{path}",
                help="Index this file again",
                on_click=include_document,
                args=(assistant, path),
            )
