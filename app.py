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
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import streamlit as st

from gpt4all_rag import (
    USER_ERRORS,
    Answer,
    DocumentAssistant,
    EvidenceEvent,
    FeedbackStore,
    IndexLocked,
    ModelNotFound,
    ProgressEvent,
    Settings,
    Source,
    SyncReport,
    TokenEvent,
    UploadRejected,
    save_upload,
)
from gpt4all_rag.app_launch import APP_TOKEN_VARIABLE, token_matches
from gpt4all_rag.background_index import BackgroundIndexer, IndexingState
from gpt4all_rag.collections import CollectionError, CollectionRegistry, CollectionSet
from gpt4all_rag.evidence import Evidence
from gpt4all_rag.export import conversation_from_json, conversation_json, conversation_markdown
from gpt4all_rag.grounding import SentenceSupport, draft_problem
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
from gpt4all_rag.trash import TrashUnavailable, trash_document

MODES: tuple[RetrievalMode, ...] = ("hybrid", "vector", "keyword")
MODE_LABELS = {
    "hybrid": "Hybrid (meaning + keywords)",
    "vector": "Meaning (vector search)",
    "keyword": "Keywords (BM25)",
}
FEEDBACK_FILE = "feedback.jsonl"
APP_SETTINGS_FILE = "app-settings.json"  # the sidebar's choices, kept across reloads
CONVERSATION_FILE = "conversation.json"  # the current conversation, kept across reloads
SAVED_CHOICES = ("k", "mode", "temperature", "answer_style", "feedback_on", "collections")
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
DRAFT_NOTE = "Draft by the model, not confirmed by your documents"
CURSOR = "▌"
LAUNCH_LINK_NOTE = (
    "Open the link printed in the terminal where the app was started (`make run`): "
    "it holds this launch's secret."
)
RENDER_INTERVAL = 0.1  # seconds between renderings of a streaming answer
BUSY_REFRESH_S = 1.0  # how often the page looks at the indexing while it runs
IDLE_REFRESH_S = 3.0  # and while nothing runs: a dropped file shows within a few seconds
FIRST_WAIT_S = 5.0  # a new tab waits this long for a running ingest before drawing the page
FIRST_INGEST_NOTE = "You can ask about the documents indexed so far while the rest is read."
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
    draft: str = ""  # why the text is only the model's draft, not the answer ("" if checked)


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
    With the "evidence" style the quotes are the answer, already shown above. A
    text with a claim that fails the check is the model's draft: it keeps its
    marks, under a line that says so and why (``ShownAnswer.draft``).
    """
    if style == "evidence" and answer.found:
        return ShownAnswer("")
    if not answer.sentences:
        return ShownAnswer(safe_markdown(answer.text))
    draft = escape_text(draft_problem(answer.sentences))
    raw = "".join(s.before + flagged_sentence(s) for s in answer.sentences).strip()
    markdown = safe_markdown(raw)
    lines = markdown.split("\n")
    if has_code(markdown) or not all(_FLAGS_IN_ORDER.fullmatch(flags(line)) for line in lines):
        return replace(plain_answer(answer), draft=draft)
    notes = (ADDED_MARKERS_NOTE,) if _ADDED_START in markdown else ()
    return ShownAnswer(markdown.translate(_FLAG_MARKUP), notes, draft)


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
        "uploader": 0,
        "notices": [],
        "confirm_delete": None,
        "exported": None,
        "queued": [],
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
    """Forget the conversation (the documents and index stay), on disk too."""
    st.session_state.messages = []
    path = st.session_state.get("conversation_file")
    if path:
        Path(path).unlink(missing_ok=True)


# --- kept across reloads ------------------------------------------------------------------
# Session state ends with the tab. The sidebar's choices and the conversation are
# written to the index folder (this computer only, readable by its owner alone), and
# a new tab starts from them.


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


def collection_names(base: Settings) -> list[str]:
    """The registered collections; none when the registry cannot be read."""
    try:
        return CollectionRegistry.for_settings(base).names()
    except CollectionError:
        return []


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
            index=ANSWER_STYLES.index(base.resolved_answer_style()),
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


def progress_text(event: ProgressEvent, eta_s: float | None = None) -> str:
    """``Indexing a.pdf (2/5 files, 40 chunks) · about 30 s left``: a progress bar's text."""
    text = (
        f"Indexing {escape_text(event.current)} ({event.files_done}/{event.files_total} files, "
        f"{count(event.chunks_done, 'chunk')})"
    )
    if eta_s is None:
        return text
    left = f"{eta_s / 60:.0f} min" if eta_s >= 90 else f"{max(eta_s, 1):.0f} s"
    return f"{text} · about {left} left"


def progress_fraction(event: ProgressEvent) -> float:
    """Bytes, not files: the bar moves within a big file as its chunks are stored."""
    return min(event.bytes_done / event.bytes_total, 1.0) if event.bytes_total else 0.0


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


@st.cache_resource(show_spinner=False, max_entries=16)
def indexer_for(key: str, _assistant: DocumentAssistant, watch: bool) -> BackgroundIndexer:
    """One background indexer (first ingest, then the watcher) per index in this process."""
    indexer = BackgroundIndexer(_assistant, watch=watch)
    indexer.start()
    return indexer


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


def trash_button(assistant: DocumentAssistant, column: Any, path: str, key: str, help: str) -> None:
    """A row's trash button, and under the row its confirmation once pressed."""
    column.button(
        "", icon=":material/delete:", key=key, help=help, on_click=ask_delete, args=(path,)
    )
    if st.session_state.confirm_delete == path:
        confirm_delete_row(assistant, path)


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
    """The finished answer's text and the notes under it; a draft under a line saying so.

    The quotes above it come first; a draft the check did not confirm is never
    presented as the answer.
    """
    if shown.draft and shown.markdown:
        st.caption(f"**{DRAFT_NOTE}:** {shown.draft}")
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
    message["shown"] = shown_answer(finished[-1], choices.settings.resolved_answer_style())
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
    """Show the question, the evidence, the streamed answer, then its sources; keep them.

    The question and its answer are kept together at the end: an answer cut short by
    a rerun leaves nothing half-kept, and the question, still queued, is asked again.
    """
    history = chat_history()
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
    st.session_state.messages += [{"role": "user", "content": question}, message]


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


def chat(assistant: DocumentAssistant, choices: Choices, ready: bool) -> None:
    """The conversation so far, and the box for the next question.

    A question goes into a queue and is answered from there, one at a time. The box
    is disabled while an answer streams, so a second question cannot be typed and
    lost; one that arrives anyway (another way in) waits its turn in the queue.
    """
    for message in st.session_state.messages:
        show_message(message, assistant)
    queued: list[str] = st.session_state.queued
    st.chat_input(
        "Ask a question about your documents" if ready else "Add documents to start",
        disabled=not ready or bool(queued),
        key="question",
        on_submit=queue_question,
    )
    if queued:
        st.session_state.answering = True
        try:
            answer(queued[0], assistant, choices)
        finally:
            st.session_state.answering = False
        queued.pop(0)
        save_conversation(assistant.model_name)
        st.rerun()  # the next queued question, or the box enabled again
    conversation_downloads(assistant)


def queue_question() -> None:
    """The chat box's callback: queue the question it holds (blank ones are dropped)."""
    question = (st.session_state.get("question") or "").strip()
    if question:
        st.session_state.queued.append(question)


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
    slot = st.empty()  # on every run, so the chat below never shifts
    path = st.session_state.get("summary_of")
    if path is None:
        return
    # A new container in the slot: nothing of the summary shown before (another
    # file's) can stand greyed under this one's title while it is written.
    with slot.container(border=True):
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
    indexing_status(indexer, state)
    problem = model_problem(assistant.settings)
    if problem:
        st.error(problem)
    busy = state.syncing and not state.first_done
    with st.empty():  # one slot on every run: the chat below never shifts
        if not indexed and not busy:
            empty_folder_info(assistant.settings.documents_dir)
    summary_panel(assistant)
    chat(asker, choices, bool(indexed) or busy)


if __name__ == "__main__":
    main()
