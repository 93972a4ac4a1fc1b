"""One source under an answer: the passage, where it is (the cited page), its file.

A source's expander shows the passage with the question's words marked. Opened, it
also shows the text around the passage, or for a PDF the cited page rendered with the
passage marked and a link that opens the file at that page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gpt4all_rag.answer import Source
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.pages.context import PassageContext
from gpt4all_rag.documents.pages.render import PageRenderer, PageUnavailable, PageView, is_pdf
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.markdown import escape_text
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.render import collection_suffix, context_html, passage_html, source_label

__all__ = [
    "INLINE_PDF_MB",
    "document_file",
    "highlighted_page",
    "inline_file_url",
    "open_page_link",
    "page_picture",
    "source_context",
    "source_expander",
]

INLINE_PDF_MB = 64  # larger PDFs are only offered for download, not held in memory to open


def document_file(folder: Path, relative: str) -> Path | None:
    """The file a source names, if it is still inside the documents folder."""
    root = folder.resolve()
    target = (root / relative).resolve()
    return target if target.is_relative_to(root) and target.is_file() else None


def source_expander(
    source: Source,
    question: str,
    folder: Path,
    key: str,
    assistant: DocumentAssistant | None = None,
) -> None:
    """One source: the passage with the question's words marked, and its file to download.

    Opened (with an assistant), it also shows where the passage is: a PDF's page
    rendered with the passage marked and a link to it, or the text around it. Those
    are made only when the source is opened (``on_change="rerun"`` tells the page).
    """
    label = source_label(source) + collection_suffix(source)
    box = st.expander(label, key=f"open-{key}", on_change="rerun")
    with box:
        opened = assistant is not None and bool(box.open)
        context = source_context(assistant, source) if assistant and opened else None
        shown = context_html(context, question) if context else passage_html(source.text, question)
        st.markdown(shown, unsafe_allow_html=True)
        file = document_file(folder, source.file)
        if file is None:
            st.caption("This file is no longer in the documents folder.")
            return
        if assistant is not None and opened and is_pdf(file) and source.page is not None:
            page_picture(source, file, assistant.settings)
            open_page_link(file, source.page, key)
        st.download_button(
            f"Download {escape_text(file.name)}",
            data=file.read_bytes,
            file_name=file.name,
            key=key,
            on_click="ignore",
        )


def source_context(assistant: DocumentAssistant, source: Source) -> PassageContext | None:
    """The text around a passage from its neighbouring chunks, or None if there is none."""
    try:
        context = assistant.passage_context(source)
    except USER_ERRORS:
        return None
    return context if context.before or context.after else None


@st.cache_data(show_spinner="Rendering the page…", max_entries=32)
def highlighted_page(
    path: str, stamp: tuple[int, int], page: int, passage: str, _settings: Settings
) -> PageView:
    """The page with the passage marked; rendered pages are also kept under the index folder.

    ``stamp`` (size, mtime) makes a changed file a new entry. The settings are not
    hashed: the renderer's cache is keyed by the file, not by them.
    """
    return PageRenderer.from_settings(_settings).view(Path(path), page, passage)


def page_picture(source: Source, file: Path, settings: Settings) -> None:
    """The cited PDF page with the passage marked, or why it cannot be shown."""
    assert source.page is not None
    try:
        info = file.stat()
        stamp = (info.st_size, info.st_mtime_ns)
        view = highlighted_page(str(file), stamp, source.page, source.text, settings)
    except (PageUnavailable, OSError) as exc:
        st.caption(f"The page cannot be shown: {escape_text(str(exc))}")
        return
    found = "the passage is marked" if view.boxes else "the passage was not found on it"
    caption = f"Page {source.page}: {found}"
    # As rendered: a width in pixels, or "auto" (JPEG for a page without transparency),
    # would make Streamlit re-encode the page and blur its text.
    st.image(view.png, caption=caption, width="content", output_format="PNG")


def inline_file_url(file: Path, key: str) -> str | None:
    """An address of this app that serves the PDF inline, for the browser's own viewer.

    Streamlit's download button serves a file as an attachment, which a browser saves
    instead of opening at ``#page=N``. Its media manager (what ``st.image`` uses) serves
    the same bytes inline, at an unguessable ``/media/<sha224>.pdf`` of this app on
    127.0.0.1, held while the source is open and dropped with it. It has no public
    call, so any failure (no runtime in bare mode, a Streamlit without it) gives None
    and the download button alone.
    """
    try:
        if file.stat().st_size > INLINE_PDF_MB << 20:
            return None
        # Private API: imported here, inside the try, so that its absence gives None.
        from streamlit.runtime import get_instance

        manager = get_instance().media_file_mgr
        url = str(manager.add(file.read_bytes(), "application/pdf", f"inline-pdf-{key}"))
        base = str(st.get_option("server.baseUrlPath") or "").strip("/")
        return f"/{base}{url}" if base else url  # "/media/…": st.image's URLs get the base too
    except Exception:  # private API: anything it raises means "not available"
        return None


def open_page_link(file: Path, page: int, key: str) -> None:
    """A link that opens the PDF at the cited page in a new tab."""
    url = inline_file_url(file, key)
    if url is None:
        st.caption(f"Download the file to open it at page {page}.")
        return
    st.link_button(
        f"Open page {page} in the browser",
        f"{url}#page={page}",
        icon=":material/open_in_new:",
        help="The original PDF, opened at this page by the browser's PDF viewer",
    )
