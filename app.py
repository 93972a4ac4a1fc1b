"""Chat with your documents in the browser: ``make run`` (``gpt4all_rag.app_launch``).

The page talks to ``gpt4all_rag``'s public API only. The assistant (embedding
model, index and language model) is built once per process by a cached factory
and shared by every browser tab; top-k and the retrieval mode are arguments of
each question, so changing them rebuilds nothing. The factory is
``DocumentAssistant.from_settings``, so the settings choose the backends: with
``GPT4ALL_RAG_EMBEDDING_BACKEND=hash`` and ``GPT4ALL_RAG_LLM_BACKEND=scripted``
the page runs on the predictable fakes, which is how its tests run it.

Everything shown as Markdown that the page did not write itself (answers,
questions, file names, error messages) goes through ``gpt4all_rag.markdown``,
so none of it can make the browser load an address.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from gpt4all_rag import (
    USER_ERRORS,
    Answer,
    DocumentAssistant,
    EvidenceEvent,
    FeedbackStore,
    ModelNotFound,
    ProgressEvent,
    Settings,
    Source,
    TokenEvent,
    UploadRejected,
    save_upload,
)
from gpt4all_rag.app_launch import APP_TOKEN_VARIABLE, token_matches
from gpt4all_rag.collections import CollectionError, CollectionRegistry, CollectionSet
from gpt4all_rag.evidence import Evidence
from gpt4all_rag.export import conversation_json, conversation_markdown
from gpt4all_rag.grounding import SentenceSupport
from gpt4all_rag.highlight import highlight_html
from gpt4all_rag.markdown import code_span, escape_text, safe_markdown
from gpt4all_rag.models import (
    CatalogueEntry,
    ModelFile,
    NetworkPolicy,
    discover_models,
    fetch_catalogue,
    format_size,
    machine_ram_bytes,
    pull_model,
)
from gpt4all_rag.pages import PageRenderer, PageUnavailable, PageView, PassageContext, is_pdf
from gpt4all_rag.reporting import count, sync_summary
from gpt4all_rag.settings import AnswerStyle, RetrievalMode
from gpt4all_rag.summarize import Summary, SummaryProgress

MODES: tuple[RetrievalMode, ...] = ("hybrid", "vector", "keyword")
MODE_LABELS = {
    "hybrid": "Hybrid (meaning + keywords)",
    "vector": "Meaning (vector search)",
    "keyword": "Keywords (BM25)",
}
FEEDBACK_FILE = "feedback.jsonl"
FINETUNE_FILE = "finetune.jsonl"
ANSWER_STYLES: tuple[AnswerStyle, ...] = ("both", "evidence", "generate")
STYLE_LABELS = {
    "both": "Quotes, then the model's answer",
    "evidence": "Quotes from your documents only (no model)",
    "generate": "The model's answer only",
}
EVIDENCE_CAPTION = "From your documents"
NOT_FOUND_NOTE = "not found in your sources"
ADDED_MARKERS_NOTE = "Markers in *italics* were added by the source check, not by the model."
CURSOR = "▌"
LAUNCH_LINK_NOTE = (
    "Open the link printed in the terminal where the app was started (`make run`): "
    "it holds this launch's secret."
)
RENDER_INTERVAL = 0.1  # seconds between renderings of a streaming answer
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
# Private-use characters that mark, in the model's text, where a flagged sentence and
# an inferred marker start and end; safe_markdown keeps them as they are, so they can
# be turned into markup after the text was made safe.
_UNSUPPORTED_START, _UNSUPPORTED_END, _ADDED_START, _ADDED_END = "\ue000\ue001\ue002\ue003"
_FLAGS = re.compile("[\ue000-\ue003]")
_FLAGS_IN_ORDER = re.compile("(?:\ue002\ue003|\ue000(?:\ue002\ue003)?\ue001)*")
_FLAG_MARKUP = str.maketrans(
    {
        _UNSUPPORTED_START: ":gray[",
        _UNSUPPORTED_END: f"] :gray[*\\({NOT_FOUND_NOTE}\\)*]",
        _ADDED_START: "*",
        _ADDED_END: "*",
    }
)
_CODE = re.compile(r"(?<!\\)(?:\\\\)*`")


@dataclass(frozen=True)
class Choices:
    """What the settings panel decided: the assistant's settings and the per-question knobs."""

    settings: Settings
    k: int
    mode: RetrievalMode


# --- small helpers ---------------------------------------------------------------


def passage_html(text: str, question: str) -> str:
    """A passage as one HTML block, so Markdown inside it is shown as written.

    Every line end (``\\r`` included) becomes ``<br>``: a blank line would end the
    HTML block, and the Markdown after it would be rendered, images included.
    """
    body = _LINE_ENDS.sub("<br>", highlight_html(text.strip(), question))
    return f'<div class="passage">{body}</div>'


def rendered_stream(
    pieces: Iterable[str], clock: Callable[[], float] = time.monotonic
) -> Iterator[str]:
    """What to show while an answer streams: all the text so far, with a cursor.

    The whole text is rendered again each time, never a piece alone, so a
    construct that the stream splits (``\\`` then ``![x](...)``) is judged whole.
    Rendering a long answer takes tens of milliseconds, so a new rendering is
    made at most every ``RENDER_INTERVAL`` seconds and never takes more than a
    fifth of the time: the pieces in between are kept for the next one. The
    caller shows the finished answer's text at the end.
    """
    text = ""
    due = 0.0
    for piece in pieces:
        text += piece
        started = clock()
        if started < due:
            continue
        yield safe_markdown(text + CURSOR)
        due = started + max(RENDER_INTERVAL, 5 * (clock() - started))


def location(file: str, page: int | None) -> str:
    """Where a passage is, as Markdown: the file, escaped, and its page."""
    where = f" · page {page}" if page is not None else ""
    return f"{escape_text(file)}{where}"


def source_label(source: Source) -> str:
    """The expander title of a source: number, file, section and page."""
    if not source.heading:
        return f"\\[{source.number}\\] {location(source.file, source.page)}"
    section = escape_text(source.heading.rsplit(" › ", 1)[-1])
    page = f" · page {source.page}" if source.page is not None else ""
    return f"\\[{source.number}\\] {escape_text(source.file)} · {section}{page}"


def has_code(markdown: str) -> bool:
    """Whether safe Markdown holds code (a backtick that no backslash escapes)."""
    return _CODE.search(markdown) is not None


def muted(markdown: str) -> str:
    """One line of safe Markdown shown grey (Streamlit's ``:gray[...]``).

    The label of ``:gray[...]`` ends at the first ``]`` no backslash escapes. In
    safe Markdown every bracket is escaped except inside code, so a line with
    code is left as it is: a label that ended early would let the rest of the
    code be read as Markdown.
    """
    if has_code(markdown) or "\n" in markdown:
        return markdown
    return f":gray[{markdown}]"


def evidence_markdown(evidence: Sequence[Evidence]) -> str:
    """The quotes as a Markdown list: each quote with its ``[n]``, then its file and page."""
    return "\n".join(
        f"- “{escape_text(' '.join(quote.text.split()))}” \\[{quote.source}\\] "
        f"{muted(location(quote.file, quote.page))}"
        for quote in evidence
    )


@dataclass(frozen=True)
class ShownAnswer:
    """A finished answer as the page shows it: its Markdown and the notes under it."""

    markdown: str
    notes: tuple[str, ...] = ()


def flagged_sentence(sentence: SentenceSupport) -> str:
    """A sentence with private marks around its inferred marker, and around it if unsupported.

    The marks become markup once the whole answer is safe Markdown.
    """
    text = _FLAGS.sub("", sentence.marked_text())
    markers = "".join(f"[{n}]" for n in sentence.cited)
    cut = text.rfind(" " + markers) + 1 if sentence.inferred and markers else 0
    if cut:
        end = cut + len(markers)
        text = f"{text[:cut]}{_ADDED_START}{markers}{_ADDED_END}{text[end:]}"
    if not sentence.supported:
        text = f"{_UNSUPPORTED_START}{text}{_UNSUPPORTED_END}"
    return text


def shown_answer(answer: Answer, style: AnswerStyle) -> ShownAnswer:
    """The finished answer: inferred markers in italics, unsupported claims grey with a note.

    The marks are placed in the model's text before ``safe_markdown``, then turned
    into markup. An answer where that cannot be done cleanly (code in it, or a
    mark the rendering moved) is shown plain, with the flags as notes under it.
    With the "evidence" style the quotes are the answer, already shown above.
    """
    if style == "evidence" and answer.found:
        return ShownAnswer("")
    if not answer.sentences:
        return ShownAnswer(safe_markdown(answer.text))
    raw = "".join(s.before + flagged_sentence(s) for s in answer.sentences).strip()
    markdown = safe_markdown(raw)
    lines = markdown.split("\n")
    if has_code(markdown) or not all(_FLAGS_IN_ORDER.fullmatch(flags(line)) for line in lines):
        return plain_answer(answer)
    notes = (ADDED_MARKERS_NOTE,) if _ADDED_START in markdown else ()
    return ShownAnswer(markdown.translate(_FLAG_MARKUP), notes)


def flags(line: str) -> str:
    """The private marks of a line, in order."""
    return "".join(_FLAGS.findall(line))


def plain_answer(answer: Answer) -> ShownAnswer:
    """The answer's text as it is, with its unsupported claims listed under it."""
    notes = [f"{NOT_FOUND_NOTE.capitalize()}: “{escape_text(s.text)}”" for s in answer.unsupported]
    if any(s.inferred for s in answer.sentences):
        notes.append("Some \\[n\\] markers were added by the source check, not by the model.")
    return ShownAnswer(safe_markdown(answer.text), tuple(notes))


def document_file(folder: Path, relative: str) -> Path | None:
    """The file a source names, if it is still inside the documents folder."""
    root = folder.resolve()
    target = (root / relative).resolve()
    return target if target.is_relative_to(root) and target.is_file() else None


# --- the cited page ------------------------------------------------------------------

INLINE_PDF_MB = 64  # larger PDFs are only offered for download, not held in memory to open


def context_html(context: PassageContext, question: str) -> str:
    """A passage between the text before and after it (grey), as one HTML block."""
    before, after = (
        f'<span style="color:#6b7280">{html.escape(part)}</span>' if part else ""
        for part in (context.before, context.after)
    )
    body = before + highlight_html(context.text, question) + after
    return f'<div class="passage">{_LINE_ENDS.sub("<br>", body)}</div>'


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


# --- state -------------------------------------------------------------------------


def init_state() -> None:
    """Per-tab state, created on the first run of a session."""
    defaults: dict[str, Any] = {
        "messages": [],
        "next_id": 0,
        "synced": False,
        "uploader": 0,
        "notices": [],
        "confirm_delete": None,
        "exported": None,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def notify(kind: str, text: str) -> None:
    """Keep a message to show on the next run (uploads and deletes rerun the page)."""
    st.session_state.notices.append((kind, text))


def show_notices() -> None:
    """Show, then forget, the messages kept by ``notify``."""
    for kind, text in st.session_state.notices:
        getattr(st, kind)(text)
    st.session_state.notices = []


def new_chat() -> None:
    """Forget the conversation (the documents and index stay)."""
    st.session_state.messages = []


def chat_history() -> list[dict[str, str]]:
    """The conversation as the assistant takes it: answered turns only, errors left out."""
    history: list[dict[str, str]] = []
    for message in st.session_state.messages:
        if message["role"] == "assistant" and message.get("answer") is not None:
            history.append({"role": "user", "content": message["question"]})
            history.append({"role": "assistant", "content": message["content"]})
    return history


# --- the assistant -------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the index and the embedding model…", max_entries=4)
def load_assistant(key: str, _settings: Settings) -> DocumentAssistant:
    """One assistant per distinct settings (``key``), shared by every tab of this process."""
    return DocumentAssistant.from_settings(_settings)


def base_settings() -> Settings:
    """Settings from the environment and ``.env``; a bad value stops the page with its reason."""
    try:
        return Settings()
    except ValueError as exc:
        st.error(
            "The settings in the environment or `.env` are not valid:\n\n" + escape_text(str(exc))
        )
        st.stop()


def assistant_for(settings: Settings) -> DocumentAssistant:
    """The cached assistant for these settings, or an error box and a stopped page."""
    try:
        return load_assistant(settings.model_dump_json(), settings)
    except USER_ERRORS as exc:
        st.error(f"Cannot open the index: {escape_text(str(exc))}")
        st.stop()


def model_problem(settings: Settings) -> str | None:
    """Why the configured GGUF file cannot be used, checked without loading it."""
    if settings.llm_backend != "llama-cpp":
        return None
    path = settings.resolved_model_path()
    if path.is_file():
        return None
    return (
        f"Model file not found: {code_span(str(path))}. Choose another model under **Settings** "
        "in the sidebar, or set `GPT4ALL_RAG_MODEL_PATH` to a `.gguf` file."
    )


# --- settings panel ---------------------------------------------------------------------


def model_options(base: Settings) -> list[Path]:
    """The configured GGUF, then every GGUF on this machine: bundled, ``models_dir``, GPT4All's."""
    configured = base.resolved_model_path()
    return list(dict.fromkeys([configured, *(model.path for model in discover_models(base))]))


def model_label(path: Path, models: dict[Path, ModelFile]) -> str:
    """A model as the picker shows it: file name, size, chat format and where it was found."""
    model = models.get(path)
    if model is None:
        return path.name
    return f"{path.name} · {format_size(model.size)} · {model.chat_format_label} · {model.source}"


def model_caption(model: ModelFile) -> str:
    """The chosen model under the picker: size, chat format, where it was found, its folder."""
    return (
        f"{format_size(model.size)} · chat format: {escape_text(model.chat_format_label)} · "
        f"{model.source} · {code_span(str(model.path.parent))}"
    )


def model_picker(base: Settings) -> Path:
    """A model from the list, or the path typed under it."""
    described = {model.path: model for model in discover_models(base)}
    options = list(dict.fromkeys([base.resolved_model_path(), *described]))
    labels = {path: model_label(path, described) for path in options}
    labels[options[0]] += " (configured)"
    chosen = st.selectbox("Model", options, format_func=labels.__getitem__, key="model_choice")
    if chosen in described:  # the sidebar cuts long labels: the chosen one in full
        st.caption(model_caption(described[chosen]))
    typed = st.text_input(
        "…or the path of a GGUF file", key="model_typed", placeholder="/path/to/model.gguf"
    ).strip()
    return Path(typed).expanduser() if typed else chosen


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
            index=ANSWER_STYLES.index(base.answer_style),
            format_func=STYLE_LABELS.__getitem__,
            key="answer_style",
            help="Quotes from your documents are shown at once, before any model runs; a "
            "small model's answer can then say the same in its own words, or be left out.",
        )
        collection_admin(base)
    return Choices(base.model_copy(update=update), int(k), mode or base.retrieval_mode)


def better_model_panel(base: Settings) -> None:
    """'Get a better model': GPT4All's catalogue, fetched only when the user presses the button.

    The page never touches the network on its own: the list comes from the catalogue
    URL only after the button, and a model only after its Download button.
    """
    if base.llm_backend != "llama-cpp":
        return
    with st.sidebar.expander("Get a better model"):
        st.caption(
            "Larger models answer better than the small bundled one. The list comes from "
            f"GPT4All's catalogue, {code_span(base.model_catalogue_url)}: nothing is fetched "
            "until you ask, and nothing about your documents is sent."
        )
        if st.button("Fetch the list of models", key="fetch_catalogue"):
            load_catalogue(base)
        if st.session_state.get("catalogue"):
            catalogue_choice(base, st.session_state.catalogue)


def load_catalogue(base: Settings) -> None:
    """Fetch the catalogue into the session: chat models only (no embedding or hidden ones)."""
    try:
        entries = fetch_catalogue(base.model_catalogue_url, policy=model_network_policy())
    except USER_ERRORS as exc:
        st.error(escape_text(str(exc)))
        return
    st.session_state.catalogue = [e for e in entries if not (e.embedding or e.hidden)]


def model_network_policy() -> NetworkPolicy | None:
    """Where the catalogue and downloads may connect; None: public https only.

    A test puts a policy in the session to reach its server on 127.0.0.1. Only Python
    code can: no widget has this key, and a browser cannot send an object.
    """
    policy = st.session_state.get("model_network_policy")
    return policy if isinstance(policy, NetworkPolicy) else None


def catalogue_markdown(entries: Sequence[CatalogueEntry], ram: int | None) -> str:
    """The catalogue as a list (the sidebar is too narrow for a table): size, memory, fit."""
    fits = {True: "fits", False: "too big for this computer", None: "unknown fit"}
    memory = f"This computer has **{ram / 1024**3:.1f} GB** of memory." if ram else ""
    rows = [
        f"- **{escape_text(e.name)}**: {format_size(e.filesize)} download, needs "
        f"{f'{e.ram_gb} GB' if e.ram_gb else 'an unknown amount'} of memory ({fits[e.fits(ram)]})"
        for e in entries
    ]
    return f"{memory}\n\n" + "\n".join(rows)


def catalogue_choice(base: Settings, entries: Sequence[CatalogueEntry]) -> None:
    """The catalogue (scrolled), a model to choose and its Download button."""
    with st.container(height=320):  # two dozen models: scrolled, not a sidebar a metre long
        st.markdown(catalogue_markdown(entries, machine_ram_bytes()))
    names = [entry.name for entry in entries]
    name = st.selectbox("Model to download", names, key="catalogue_choice")
    entry = entries[names.index(name)] if name in names else entries[0]
    installed = (base.models_dir / entry.filename).is_file()
    unverified = entry.checksum is None and not installed
    if unverified:
        st.warning(
            f"The catalogue gives no checksum for {escape_text(entry.name)}: its download "
            "cannot be verified, so a changed or damaged file would not be noticed."
        )
    allowed = unverified and st.checkbox("Install it without a check", key="allow_unverified")
    if st.button(
        "Installed" if installed else "Download",
        key="pull_model",
        disabled=installed or (unverified and not allowed),
    ):
        pull_with_progress(base, entry, allow_unverified=allowed)


def pull_with_progress(
    base: Settings, entry: CatalogueEntry, allow_unverified: bool = False
) -> None:
    """Download a model with a progress bar (size, rate, time left), then list it in the picker.

    ``allow_unverified``: the person ticked the box to install a model with no checksum.
    """
    bar = st.progress(0.0, text=f"Downloading {escape_text(entry.name)}…")
    state = {"started": time.monotonic(), "shown": 0.0, "first": -1}

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        if state["first"] < 0:
            state["first"] = done  # what an earlier, interrupted download left
        if now - state["shown"] < 0.25 and done < total:
            return
        state["shown"] = now
        text = download_text(done, total, done - int(state["first"]), now - state["started"])
        bar.progress(min(done / total, 1.0) if total else 0.0, text=text)

    try:
        result = pull_model(
            entry,
            base.models_dir,
            progress=update,
            allow_unverified=allow_unverified,
            policy=model_network_policy(),
        )
    except USER_ERRORS as exc:
        bar.empty()
        st.error(escape_text(str(exc)))
        return
    notify(
        "success",
        f"Downloaded {escape_text(entry.name)} to {code_span(str(result.path))}. Choose it "
        "under **Settings**, **Model**.",
    )
    st.rerun()


def download_text(done: int, total: int, fetched: int, seconds: float) -> str:
    """``1.2 GB of 4.7 GB · 25 MB/s · 2 min left``: the progress bar's text."""
    rate = fetched / seconds if seconds > 0 else 0.0
    parts = [f"{format_size(done)} of {format_size(total)}" if total else format_size(done)]
    if rate > 0:
        parts.append(f"{format_size(int(rate))}/s")
        if total:
            left = (total - done) / rate
            parts.append(f"{left / 60:.0f} min left" if left >= 90 else f"{left:.0f} s left")
    return " · ".join(parts)


def model_captions(assistant: DocumentAssistant) -> None:
    """Which language and embedding models are active."""
    st.sidebar.caption(
        f"Model: {code_span(assistant.model_name)}  \n"
        f"Embeddings: {code_span(assistant.status().embedding_model)}"
    )


# --- documents -------------------------------------------------------------------------


def sync(assistant: DocumentAssistant) -> None:
    """Bring the index up to date with the folder, with a progress bar."""
    bar = st.progress(0.0, text="Checking the documents folder…")

    def show(event: ProgressEvent) -> None:
        # Bytes, not files: the bar moves within a big file as its chunks are stored.
        done = event.bytes_done / event.bytes_total if event.bytes_total else 1.0
        bar.progress(
            min(done, 1.0),
            text=f"Indexing {escape_text(event.current)} "
            f"({event.files_done}/{event.files_total} files, "
            f"{count(event.chunks_done, 'chunk')})",
        )

    try:
        # The folder uploads go to; creating it turns a first start into "no documents yet".
        assistant.settings.documents_dir.mkdir(parents=True, exist_ok=True)
        report = assistant.ingest(progress=show)
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"Indexing failed: {escape_text(str(exc))}")
        return
    finally:
        bar.empty()
    summary = sync_summary(report)
    if summary:
        notify("success", summary)


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


def upload_section(assistant: DocumentAssistant) -> None:
    """The uploader: save, index, then clear it (a new widget key) and rerun."""
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
    sync(assistant)
    st.session_state.uploader += 1
    st.rerun()


def delete_document(assistant: DocumentAssistant, path: str) -> None:
    """Remove a file from the folder and its passages from the index (a button's callback)."""
    st.session_state.confirm_delete = None
    try:
        assistant.remove_document(path)
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"Could not delete {escape_text(path)}: {escape_text(str(exc))}")
        return
    notify("success", f"Deleted {escape_text(path)}.")


def ask_delete(path: str | None) -> None:
    """Show (or, with None, hide) the confirmation for deleting ``path``."""
    st.session_state.confirm_delete = path


def confirm_delete_row(assistant: DocumentAssistant, path: str) -> None:
    """Delete for real, or cancel."""
    st.warning(f"Delete {escape_text(path)} from the documents folder?")
    yes, no = st.columns(2)
    yes.button(
        "Delete",
        key=f"delete-yes-{path}",
        type="primary",
        on_click=delete_document,
        args=(assistant, path),
    )
    no.button("Cancel", key=f"delete-no-{path}", on_click=ask_delete, args=(None,))


def document_row(assistant: DocumentAssistant, path: str, chunks: int, warning: str = "") -> None:
    """One indexed file: its name, chunk count, why it was read only in part, a delete button."""
    name, summarize, action = st.columns([4, 1, 1], vertical_alignment="center")
    note = f"  \n:material/warning: {escape_text(warning)}" if warning else ""
    name.markdown(f"**{escape_text(path)}**  \n{count(chunks, 'chunk')}{note}")
    summary_button(summarize, path)
    action.button(
        "",
        icon=":material/delete:",
        key=f"delete-{path}",
        help="Delete this file from the documents folder and the index",
        on_click=ask_delete,
        args=(path,),
    )
    if st.session_state.confirm_delete == path:
        confirm_delete_row(assistant, path)


def failure_list(assistant: DocumentAssistant) -> None:
    """Files that could not be indexed, each with its reason."""
    failures = assistant.failures()
    if not failures:
        return
    label = f"{count(len(failures), 'file')} could not be indexed"
    with st.expander(label, expanded=True, icon=":material/warning:"):
        for path, reason in failures:
            st.markdown(f"**{escape_text(path)}**: {escape_text(reason)}")


def documents_section(assistant: DocumentAssistant) -> int:
    """The sidebar's documents part; returns how many files are indexed."""
    folder = assistant.settings.documents_dir
    st.header("Documents")
    upload_section(assistant)
    st.caption(f"Folder: {code_span(str(folder))}")
    if st.button(
        "Rescan folder", key="rescan", help="Index files added, changed or removed outside the app"
    ):
        sync(assistant)
    documents = assistant.documents()
    warnings = dict(assistant.status().warnings)  # files indexed only in part, and why
    st.subheader(indexed_title(assistant.settings, len(documents)))
    for document in documents:
        warning = warnings.get(document.path, "")
        document_row(assistant, document.path, document.chunks, warning)
    failure_list(assistant)
    return len(documents)


# --- feedback ----------------------------------------------------------------------------


def feedback_store(settings: Settings) -> FeedbackStore:
    """Ratings live next to the index, on this computer only."""
    return feedback_store_at(str(settings.index_dir / FEEDBACK_FILE))


@st.cache_resource(show_spinner=False)
def feedback_store_at(path: str) -> FeedbackStore:
    """One store per file in this process, so its lock orders the writes of every tab."""
    return FeedbackStore(Path(path))


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


# --- chat -------------------------------------------------------------------------------------


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


def show_answer_extras(message: dict[str, Any], assistant: DocumentAssistant) -> None:
    """Under an answer: its sources, and the thumbs when feedback is on."""
    answer: Answer = message["answer"]
    if answer.found:
        for source in answer.sources:
            key = f"download-{message['id']}-{source.number}"
            owner = source_owner(assistant, source)
            folder = owner.settings.documents_dir
            source_expander(source, message["question"], folder, key, owner)
    if st.session_state.get("feedback_on"):
        st.feedback(
            "thumbs",
            key=f"feedback-{message['id']}",
            on_change=save_rating,
            args=(message, feedback_store(assistant.settings)),
        )


def show_evidence(evidence: Sequence[Evidence]) -> None:
    """The quotes that answer the question, under a caption (nothing when there are none)."""
    if not evidence:
        return
    st.caption(EVIDENCE_CAPTION)
    st.markdown(evidence_markdown(evidence))


def show_answer_body(shown: ShownAnswer) -> None:
    """The finished answer's text and the notes under it."""
    if shown.markdown:
        st.markdown(shown.markdown)
    for note in shown.notes:
        st.caption(note)


def show_message(message: dict[str, Any], assistant: DocumentAssistant) -> None:
    """A turn of the conversation, as it was first shown."""
    with st.chat_message(message["role"]):
        if message["role"] == "user":
            st.markdown(safe_markdown(message["content"]))
            return
        show_evidence(message.get("evidence", ()))
        if message.get("error"):
            st.error(message["error"])
            return
        show_answer_body(message["shown"])
        show_answer_extras(message, assistant)


def stream_answer(
    assistant: DocumentAssistant,
    question: str,
    history: list[dict[str, str]],
    choices: Choices,
    message: dict[str, Any],
) -> Answer:
    """Show the evidence at once, then the answer as the model writes it; return the answer.

    The evidence comes before the model loads, so it is on the page even if the
    model then fails. The streaming text is rendered by ``safe_markdown`` (nothing
    in it can load a remote image or follow a link), the whole of it again after
    each token; the finished answer is shown with its sentences flagged. Both are
    kept in ``message`` for the reruns.
    """
    evidence_box = st.container()
    finished: list[Answer] = []

    def tokens() -> Iterator[str]:
        events = assistant.events(question, history=history, k=choices.k, mode=choices.mode)
        for event in events:
            if isinstance(event, EvidenceEvent):
                message["evidence"] = event.evidence
                with evidence_box:
                    show_evidence(event.evidence)
            elif isinstance(event, TokenEvent):
                yield event.text
            elif isinstance(event, Answer):
                finished.append(event)

    shown = st.empty()
    try:
        for markdown in rendered_stream(tokens()):
            shown.markdown(markdown)
    except BaseException:
        shown.empty()
        raise
    message["shown"] = shown_answer(finished[-1], choices.settings.answer_style)
    with shown.container():
        show_answer_body(message["shown"])
    return finished[-1]


def answer_error(exc: Exception) -> str:
    """The error box text for a question that could not be answered."""
    if isinstance(exc, ModelNotFound):
        return (
            f"Cannot load the model: {escape_text(str(exc))}. Choose another model under "
            "**Settings** in the "
            "sidebar, or set `GPT4ALL_RAG_MODEL_PATH`."
        )
    return f"Could not answer: {escape_text(str(exc))}"


def answer(question: str, assistant: DocumentAssistant, choices: Choices) -> None:
    """Show the question, the evidence, the streamed answer, then its sources; keep them."""
    history = chat_history()
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    message: dict[str, Any] = {"role": "assistant", "question": question, "id": next_id()}
    with st.chat_message("assistant"):
        try:
            result = stream_answer(assistant, question, history, choices, message)
        except USER_ERRORS as exc:
            message.update(content="", answer=None, error=answer_error(exc))
            st.error(message["error"])
        else:
            message.update(content=result.text, answer=result, error=None)
            show_answer_extras(message, assistant)
    st.session_state.messages.append(message)


def next_id() -> int:
    """A number no other message of this tab has (widget keys are built from it)."""
    st.session_state.next_id += 1
    return int(st.session_state.next_id)


def empty_folder_info(folder: Path) -> None:
    """What to do when nothing is indexed yet."""
    st.info(
        "**No documents yet.** Add files with **Add documents** in the sidebar, or copy them "
        f"into {code_span(str(folder))} and press **Rescan folder**. PDF, Word, PowerPoint, "
        "EPUB, Markdown, HTML, CSV, e-mail and text files are supported."
    )


def chat(assistant: DocumentAssistant, choices: Choices, indexed: int) -> None:
    """The conversation so far, and the box for the next question."""
    for message in st.session_state.messages:
        show_message(message, assistant)
    question = st.chat_input(
        "Ask a question about your documents" if indexed else "Add documents to start",
        disabled=not indexed,
        key="question",
    )
    if question and question.strip():
        answer(question.strip(), assistant, choices)
    conversation_downloads(assistant)


def conversation_downloads(assistant: DocumentAssistant) -> None:
    """Download the conversation with its sources (file and page), as Markdown or JSON."""
    answers = [m["answer"] for m in st.session_state.messages if m.get("answer") is not None]
    if not answers:
        return
    model = assistant.model_name
    markdown, json_file = st.columns(2)
    markdown.download_button(
        "Export conversation (Markdown)",
        data=conversation_markdown(answers, model=model),
        file_name="conversation.md",
        mime="text/markdown",
        icon=":material/download:",
        key="export-markdown",
        on_click="ignore",
    )
    json_file.download_button(
        "Export conversation (JSON)",
        data=conversation_json(answers, model=model),
        file_name="conversation.json",
        mime="application/json",
        icon=":material/download:",
        key="export-json",
        on_click="ignore",
    )


# --- summaries ---------------------------------------------------------------------------------


def summary_button(column: Any, path: str) -> None:
    """The button on a document's row that shows its summary above the chat."""
    column.button(
        "",
        icon=":material/summarize:",
        key=f"summarize-{path}",
        help="Summarize this document with the model, citing its pages",
        on_click=show_summary_of,
        args=(path,),
    )


def show_summary_of(path: str | None) -> None:
    """Show the summary of ``path`` (None: close it); a button's callback."""
    st.session_state.summary_of = path


def stream_summary(assistant: DocumentAssistant, path: str) -> Summary:
    """Run the summary with a progress bar and the final text as it streams; return it.

    A cached summary comes back at once, without loading the model.
    """
    progress = st.progress(0.0, text="Reading the document…")
    shown = st.empty()
    text = ""
    finished: list[Summary] = []
    for event in assistant.summary_events(path):
        if isinstance(event, SummaryProgress):
            progress.progress(summary_fraction(event), text=summary_step(event))
        elif isinstance(event, TokenEvent):
            text += event.text
            shown.markdown(safe_markdown(text + CURSOR))
        elif isinstance(event, Summary):
            finished.append(event)
    progress.empty()
    shown.empty()
    return finished[-1]


def summary_fraction(event: SummaryProgress) -> float:
    """How full the progress bar is: sections fill 80%, joining them the rest."""
    share = event.done / max(event.total, 1)
    return {"map": 0.8 * share, "reduce": 0.8 + 0.15 * share}.get(event.stage, 0.95)


def summary_step(event: SummaryProgress) -> str:
    """The progress bar's caption."""
    match event.stage:
        case "map":
            return f"Summarizing part {event.done} of {event.total}…"
        case "reduce":
            return f"Joining summaries ({event.done} of {event.total})…"
        case _:
            return "Writing the summary…"


def show_summary(summary: Summary) -> None:
    """The summary, its sections with their pages, and what it took."""
    st.markdown(safe_markdown(summary.markdown()))
    how = "cached" if summary.cached else f"{summary.seconds:.0f} s"
    pages = f" · {count(len(summary.pages), 'page')}" if summary.pages else ""
    calls = count(summary.llm_calls, "model call")
    st.caption(f"{escape_text(summary.model)} · {calls} · {how}{pages}")


def summary_panel(assistant: DocumentAssistant) -> None:
    """The summary the user asked for, above the chat, with a button to close it."""
    path = st.session_state.get("summary_of")
    if path is None:
        return
    with st.container(border=True):
        title, close = st.columns([8, 1], vertical_alignment="center")
        title.subheader(f"Summary of {escape_text(path)}")
        close.button(
            "",
            icon=":material/close:",
            key="summary-close",
            help="Close the summary",
            on_click=show_summary_of,
            args=(None,),
        )
        try:
            summary = stream_summary(assistant, path)
        except USER_ERRORS as exc:
            st.error(f"Could not summarize {escape_text(path)}: {escape_text(str(exc))}")
            return
        show_summary(summary)


# --- collections ------------------------------------------------------------------------------


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


def collection_set(
    assistant: DocumentAssistant, names: list[str], settings: Settings
) -> DocumentAssistant | CollectionSet:
    """What questions go to: the assistant, or with several collections a set of them."""
    if len(names) < 2:
        return assistant
    others = {n: assistant_for(settings.model_copy(update={"collection": n})) for n in names[1:]}
    return CollectionSet({names[0]: assistant, **others})


def source_owner(asker: DocumentAssistant | CollectionSet, source: Source) -> DocumentAssistant:
    """The assistant of the collection a source is from (its documents folder)."""
    return asker.assistant_of(source) if isinstance(asker, CollectionSet) else asker


def collection_suffix(source: Source) -> str:
    """`` · collection name`` for a source from one of several collections asked."""
    return f" · collection {escape_text(source.collection)}" if source.collection else ""


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


def other_collections_section(asker: DocumentAssistant | CollectionSet) -> int:
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
    name = st.session_state.get("collection_gone")
    load_assistant.clear()  # no cached assistant keeps the deleted index open
    try:
        CollectionRegistry.for_settings(base).remove(name)
    except (*USER_ERRORS, OSError) as exc:
        notify("error", f"Collection not removed: {escape_text(str(exc))}")
        return
    chosen = st.session_state.get("collections") or []
    st.session_state.collections = [n for n in chosen if n != name]
    notify("success", f"Removed collection {escape_text(name)}; its documents were not touched.")


# --- page ------------------------------------------------------------------------------------


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
    with documents_box:
        names = collection_picker(base)
    choices = settings_panel(base.model_copy(update={"collection": names[0]}))
    better_model_panel(choices.settings)
    assistant = assistant_for(choices.settings)
    asker = collection_set(assistant, names, choices.settings)
    model_captions(assistant)
    with st.sidebar:
        feedback_section(assistant.settings)
    st.title("Chat with your documents")
    with documents_box:
        if not st.session_state.synced:
            # Set before syncing, so that a failing sync is not retried on every rerun.
            st.session_state.synced = True
            sync(assistant)
        indexed = documents_section(assistant)
        indexed += other_collections_section(asker)
        show_notices()
    problem = model_problem(assistant.settings)
    if problem:
        st.error(problem)
    if not indexed:
        empty_folder_info(assistant.settings.documents_dir)
    summary_panel(assistant)
    chat(asker, choices, indexed)


if __name__ == "__main__":
    main()
