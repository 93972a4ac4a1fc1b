"""Taking a file away: to the trash, out of the index only, or back in (buttons and callbacks).

The file is the person's own: deleting moves it where the desktop's "Restore" finds
it, never straight to oblivion, and each way asks first, under the file's row.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.trash import TrashUnavailable, trash_document
from gpt4all_rag.errors import USER_ERRORS, IndexLocked
from gpt4all_rag.markdown import escape_text
from gpt4all_rag.ui.state import notify

__all__ = [
    "ask_delete",
    "confirm_delete_row",
    "delete_document",
    "delete_for_good",
    "exclude_document",
    "forget_document",
    "include_document",
    "trash_button",
]


def trash_button(assistant: DocumentAssistant, column: Any, path: str, key: str, help: str) -> None:
    """A row's trash button, and under the row its confirmation once pressed."""
    column.button(
        "", icon=":material/delete:", key=key, help=help, on_click=ask_delete, args=(path,)
    )
    if st.session_state.confirm_delete == path:
        confirm_delete_row(assistant, path)


def ask_delete(path: str | None) -> None:
    """Show (or, with None, hide) the confirmation for deleting ``path``."""
    st.session_state.confirm_delete = path


def confirm_delete_row(assistant: DocumentAssistant, path: str) -> None:
    """Move to the trash (or, where no trash could take it, delete for good), or cancel."""
    if st.session_state.get("no_trash") == path:
        st.warning(f"No trash could take {escape_text(path)}. Delete it for good?")
        yes, no = st.columns(2)
        yes.button(
            "Delete for good",
            key=f"delete-forever-{path}",
            type="primary",
            on_click=delete_for_good,
            args=(assistant, path),
        )
        no.button("Cancel", key=f"delete-no-{path}", on_click=ask_delete, args=(None,))
        return
    st.warning(
        f"Move {escape_text(path)} from the documents folder to the trash? It leaves the "
        "index too; restore it from the trash to have it back."
    )
    yes, keep, no = st.columns(3)
    yes.button(
        "Move to the trash",
        key=f"delete-yes-{path}",
        type="primary",
        on_click=delete_document,
        args=(assistant, path),
    )
    keep.button(
        "Remove from the index only",
        key=f"exclude-{path}",
        help="Keep the file in the folder; the index leaves it out until you index it again",
        on_click=exclude_document,
        args=(assistant, path),
    )
    no.button("Cancel", key=f"delete-no-{path}", on_click=ask_delete, args=(None,))


def delete_document(assistant: DocumentAssistant, path: str) -> None:
    """Move a file to the trash, then drop its passages from the index (a button's callback).

    The file is the person's own: it goes where the desktop's "Restore" finds it,
    never straight to oblivion. If no trash can take it, nothing is touched.
    """
    st.session_state.confirm_delete = None
    try:
        trash_document(assistant.settings.documents_dir, path)
    except TrashUnavailable as exc:
        notify(
            "error", f"{escape_text(path)} was not moved to the trash: {escape_text(exc.reason)}."
        )
        st.session_state.confirm_delete = st.session_state.no_trash = path
        return
    forget_document(assistant, path, f"Moved {escape_text(path)} to the trash.")


def delete_for_good(assistant: DocumentAssistant, path: str) -> None:
    """Delete a file no trash could take, once the person said so (a button's callback)."""
    st.session_state.confirm_delete = st.session_state.no_trash = None
    forget_document(assistant, path, f"Deleted {escape_text(path)}.")


def forget_document(assistant: DocumentAssistant, path: str, done: str) -> None:
    """Drop a file's passages from the index (and the file, if it is still there)."""
    try:
        assistant.remove_document(path)
        if path in dict(assistant.failures()):
            assistant.ingest()  # a failed file's record goes with a sync
    except IndexLocked:
        pass  # the watcher's sync, running now, sees the file gone
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"Could not remove {escape_text(path)}: {escape_text(str(exc))}")
        return
    notify("success", done)


def exclude_document(assistant: DocumentAssistant, path: str) -> None:
    """Take a file out of the index and keep it in the folder (a button's callback)."""
    st.session_state.confirm_delete = None
    try:
        assistant.exclude_document(path)
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"Could not remove {escape_text(path)}: {escape_text(str(exc))}")
        return
    notify("success", f"Removed {escape_text(path)} from the index; the file stays in the folder.")


def include_document(assistant: DocumentAssistant, path: str) -> None:
    """Index a file that was taken out of the index again (a button's callback)."""
    try:
        assistant.include_document(path)
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"Could not index {escape_text(path)}: {escape_text(str(exc))}")
        return
    notify("success", f"Indexed {escape_text(path)} again.")
