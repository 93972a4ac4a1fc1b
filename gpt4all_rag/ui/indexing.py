"""The indexing as a tab sees it: the background indexer, its news, its progress, a sync.

One background indexer per index runs the first ingest and then watches the folder
for the whole process (``resources.indexer_for``); each tab looks at it, tells what
each of its syncs changed once, and redraws itself when a sync starts or ends.
"""

from __future__ import annotations

import time

import streamlit as st

from gpt4all_rag.assistant.background import BackgroundIndexer, IndexingState
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.errors import USER_ERRORS, IndexLocked
from gpt4all_rag.markdown import escape_text
from gpt4all_rag.reporting import sync_summary
from gpt4all_rag.ui.render import progress_fraction, progress_text
from gpt4all_rag.ui.resources import indexer_for
from gpt4all_rag.ui.state import notify
from ingest.report import ProgressEvent, SyncReport

__all__ = [
    "BUSY_REFRESH_S",
    "FIRST_INGEST_NOTE",
    "FIRST_WAIT_S",
    "IDLE_REFRESH_S",
    "background_indexer",
    "indexing_news",
    "indexing_status",
    "notify_report",
    "sync",
]

BUSY_REFRESH_S = 1.0  # how often the page looks at the indexing while it runs
IDLE_REFRESH_S = 3.0  # and while nothing runs: a dropped file shows within a few seconds
FIRST_WAIT_S = 5.0  # a new tab waits this long for a running ingest before drawing the page
FIRST_INGEST_NOTE = "You can ask about the documents indexed so far while the rest is read."


def sync(assistant: DocumentAssistant, label: str = "") -> None:
    """Bring the index up to date with the folder, with a progress bar (Rescan, uploads).

    ``label`` names the collection in the notice when several are rescanned.
    """
    bar = st.progress(0.0, text="Checking the documents folder…")

    def show(event: ProgressEvent) -> None:
        bar.progress(progress_fraction(event), text=progress_text(event))

    try:
        # The folder uploads go to; creating it turns a first start into "no documents yet".
        assistant.settings.documents_dir.mkdir(parents=True, exist_ok=True)
        report = assistant.ingest(progress=show)
    except IndexLocked:
        notify("info", f"{label}The folder is being indexed right now; the list updates when done.")
        return
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"{label}Indexing failed: {escape_text(str(exc))}")
        return
    finally:
        bar.empty()
    notify_report(report, label)


def notify_report(report: SyncReport, label: str = "") -> None:
    """What a sync changed, as a notice: a warning when a file failed, else a success."""
    summary = sync_summary(report)
    if summary is None:
        if label:
            notify("info", f"{label}Nothing changed.")
        return
    notify("warning" if report.failed else "success", label + summary)


def background_indexer(assistant: DocumentAssistant) -> BackgroundIndexer:
    """The background indexing of this assistant's index; a new tab looks at the folder once.

    A watched folder needs nothing more. An unwatched one is synced again when a tab
    opens (a reload then shows a dropped file, as before). The tab waits up to
    ``FIRST_WAIT_S`` for an ingest, with its progress, so a small folder shows whole.
    """
    settings = assistant.settings
    key = f"{settings.index_dir.resolve()}|{settings.collection}|{settings.documents_dir}"
    indexer = indexer_for(key, assistant, settings.watch_folder)
    looked_at = st.session_state.setdefault("looked_at", set())
    if key not in looked_at:  # this tab's first look at this index (or collection)
        # Set before syncing, so that a failing sync is not retried on every rerun.
        looked_at.add(key)
        first_tab = indexer.first_look()
        if indexer.state().first_done and settings.watch_folder and not first_tab:
            mark_told(indexer)  # what an earlier tab saw is no news to this one
        if not settings.watch_folder:
            indexer.sync_again()
        wait_for_indexing(indexer, first_wait())
    return indexer


def mark_told(indexer: BackgroundIndexer) -> None:
    """Count the indexer's syncs so far as told in this tab."""
    state = indexer.state()
    told = st.session_state.setdefault("told", {})
    told[id(indexer)] = (state.version, id(state.report))


def first_wait() -> float:
    """How long a new tab waits for a running ingest: ``FIRST_WAIT_S``.

    A test puts 0 in the session to see the page of a long first ingest. Only
    Python code can: no widget has this key, and a browser cannot send a number.
    """
    wait = st.session_state.get("first_wait_s")
    return float(wait) if isinstance(wait, int | float) else FIRST_WAIT_S


def wait_for_indexing(indexer: BackgroundIndexer, seconds: float) -> None:
    """Show the running ingest's progress for up to ``seconds``, or until it ends."""
    bar = st.empty()
    deadline = time.monotonic() + seconds
    while not indexer.wait(0.2) and time.monotonic() < deadline:
        state = indexer.state()
        if state.progress is not None:
            bar.progress(progress_fraction(state.progress), text=progress_text(state.progress))
    bar.empty()


def indexing_news(indexer: BackgroundIndexer) -> IndexingState:
    """The indexing's state; a sync this tab has not told of yet becomes a notice."""
    state = indexer.state()
    told = st.session_state.setdefault("told", {})
    version, report = told.get(id(indexer), (None, None))
    if state.version == version:
        return state
    told[id(indexer)] = (state.version, id(state.report))
    if state.report is not None and id(state.report) != report:
        notify_report(state.report)
    if state.error:
        notify("error", f"Indexing failed: {escape_text(state.error)}")
    return state


def indexing_status(indexer: BackgroundIndexer, state: IndexingState) -> None:
    """What the background indexing is doing, redrawn on its own: often while it runs.

    When a sync has started or ended since the page was drawn (a file dropped into
    the folder), the whole page is drawn again: the document list and the counts
    follow the folder without a click or a reload.
    """
    if state.syncing:
        busy_indexing_status(indexer, state.version)
    else:
        idle_indexing_status(indexer, state.version)


@st.fragment(run_every=BUSY_REFRESH_S)
def busy_indexing_status(indexer: BackgroundIndexer, seen: int) -> None:
    """The progress, every second, until the sync ends."""
    state = indexer.state()
    if (state.version != seen or not state.syncing) and not st.session_state.get("answering"):
        st.rerun()
    show_indexing(state)


@st.fragment(run_every=IDLE_REFRESH_S)
def idle_indexing_status(indexer: BackgroundIndexer, seen: int) -> None:
    """Nothing running: a look every few seconds, the page drawn again when a sync starts."""
    state = indexer.state()
    if (state.version != seen or state.syncing) and not st.session_state.get("answering"):
        st.rerun()
    show_indexing(state)


def show_indexing(state: IndexingState) -> None:
    """The running ingest's bar with the time left, or a line while the watcher syncs."""
    if state.progress is not None:
        st.progress(
            progress_fraction(state.progress), text=progress_text(state.progress, state.eta_s)
        )
    elif state.syncing and not state.first_done:
        st.caption(":material/sync: Reading the documents folder…")
    elif state.syncing:
        st.caption(":material/sync: Indexing changes in the documents folder…")
    if state.syncing and not state.first_done:
        st.caption(FIRST_INGEST_NOTE)
