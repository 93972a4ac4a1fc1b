"""Named collections on the page: which to ask, their documents, adding and removing one.

Upload, rescan and delete act on the first collection chosen; questions go to all of
them, through a ``CollectionSet`` when there are several.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias, cast

import streamlit as st

from gpt4all_rag.answer import Source
from gpt4all_rag.assistant.several import CollectionSet
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.index.registry import CollectionError, CollectionRegistry
from gpt4all_rag.markdown import escape_text
from gpt4all_rag.reporting import count
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.resources import assistant_for, load_assistant
from gpt4all_rag.ui.state import notify

__all__ = [
    "Asked",
    "add_collection",
    "collection_admin",
    "collection_names",
    "collection_picker",
    "collection_set",
    "indexed_title",
    "other_collections_section",
    "remove_collection",
    "source_owner",
]

# What questions go to: one collection's assistant, or several as one.
Asked: TypeAlias = DocumentAssistant | CollectionSet


def collection_names(base: Settings) -> list[str]:
    """The registered collections; none when the registry cannot be read."""
    try:
        return CollectionRegistry.for_settings(base).names()
    except CollectionError:
        return []


def collection_picker(base: Settings) -> list[str]:
    """Which collections to ask (shown once named ones exist); the first is the one managed.

    Upload, rescan and delete act on the first; questions go to all of them.
    """
    try:
        names = CollectionRegistry.for_settings(base).names()
    except CollectionError as exc:
        st.error(escape_text(str(exc)))
        return [base.collection]
    if len(names) < 2:
        return [base.collection]
    chosen = st.multiselect(
        "Collections to ask",
        names,
        default=[base.collection] if base.collection in names else names[:1],
        key="collections",
        help="Questions search every chosen collection; the documents below are the first "
        "one's (add, rescan, delete).",
    )
    return chosen or [base.collection]


def collection_set(assistant: DocumentAssistant, names: list[str], settings: Settings) -> Asked:
    """What questions go to: the assistant, or with several collections a set of them."""
    if len(names) < 2:
        return assistant
    others = {n: assistant_for(settings.model_copy(update={"collection": n})) for n in names[1:]}
    return CollectionSet({names[0]: assistant, **others})


def source_owner(asker: Asked, source: Source) -> DocumentAssistant:
    """The assistant of the collection a source is from (its documents folder)."""
    return asker.assistant_of(source) if isinstance(asker, CollectionSet) else asker


def indexed_title(settings: Settings, documents: int) -> str:
    """``Indexed (n)``, or with named collections ``Indexed in name (n)``."""
    named = settings.collection != "default"
    if not named:
        try:
            named = len(CollectionRegistry.for_settings(settings).names()) > 1
        except CollectionError:
            named = False
    where = f" in {escape_text(settings.collection)}" if named else ""
    return f"Indexed{where} ({documents})"


def other_collections_section(asker: Asked) -> int:
    """The other collections asked: their documents, each with its collection; how many."""
    if not isinstance(asker, CollectionSet):
        return 0
    total = 0
    for other in list(asker.assistants.values())[1:]:
        documents = other.documents()
        st.subheader(indexed_title(other.settings, len(documents)))
        for document in documents:
            st.markdown(
                f"**{escape_text(document.path)}**  \n{count(document.chunks, 'chunk')} · "
                f"collection {escape_text(document.collection)}"
            )
        total += len(documents)
    return total


def collection_admin(base: Settings) -> None:
    """Add a collection (a name and a documents folder), or remove one's index."""
    st.text_input("New collection name", key="collection_name", placeholder="work")
    st.text_input("Its documents folder", key="collection_folder", placeholder="/path/to/folder")
    st.button("Add collection", key="collection_add", on_click=add_collection, args=(base,))
    named = [n for n in CollectionRegistry.for_settings(base).names() if n != "default"]
    if not named:
        return
    st.selectbox("Collection to remove", named, key="collection_gone")
    st.button(
        "Remove its index",
        key="collection_remove",
        on_click=remove_collection,
        args=(base,),
        help="Deletes the collection's index; its documents folder is not touched.",
    )


def add_collection(base: Settings) -> None:
    """Register the typed name and folder (the Add button's callback)."""
    name = st.session_state.get("collection_name", "").strip()
    folder = st.session_state.get("collection_folder", "").strip()
    try:
        added = CollectionRegistry.for_settings(base).add(name, Path(folder).expanduser())
    except CollectionError as exc:
        notify("error", f"Collection not added: {escape_text(str(exc))}")
        return
    st.session_state.collection_name = st.session_state.collection_folder = ""
    notify("success", f"Added collection {escape_text(added.name)}: choose it, then Rescan folder.")


def remove_collection(base: Settings) -> None:
    """Delete the chosen collection's index and forget it (the Remove button's callback)."""
    # The selectbox drawn above the button holds one of the named collections.
    name = cast(str, st.session_state.get("collection_gone"))
    load_assistant.clear()  # no cached assistant keeps the deleted index open
    try:
        CollectionRegistry.for_settings(base).remove(name)
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"Collection not removed: {escape_text(str(exc))}")
        return
    chosen = st.session_state.get("collections") or []
    st.session_state.collections = [n for n in chosen if n != name]
    notify("success", f"Removed collection {escape_text(name)}; its documents were not touched.")
