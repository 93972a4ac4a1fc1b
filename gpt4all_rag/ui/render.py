"""The page's text, made without Streamlit: answers, sources, quotes and progress lines.

Pure functions from the project's values to safe Markdown (or one HTML block), so
they are unit-tested without a page. Everything shown that the page did not write
itself (answers, file names, error messages) goes through ``gpt4all_rag.markdown``,
so none of it can make the browser load an address.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.documents.pages.context import PassageContext
from gpt4all_rag.documents.summarize.results import SummaryProgress
from gpt4all_rag.errors import ModelNotFound
from gpt4all_rag.markdown import code_span, escape_text, safe_markdown
from gpt4all_rag.models.catalogue import CatalogueEntry, format_size
from gpt4all_rag.models.discovery import ModelFile
from gpt4all_rag.reporting import count
from gpt4all_rag.settings_answering import AnswerStyle
from gpt4all_rag.trust.evidence import Evidence
from gpt4all_rag.trust.grounding import SentenceSupport, draft_problem
from gpt4all_rag.ui.highlight import highlight_html
from ingest.report import ProgressEvent

__all__ = [
    "ADDED_MARKERS_NOTE",
    "CURSOR",
    "NOT_FOUND_NOTE",
    "RENDER_INTERVAL",
    "ShownAnswer",
    "answer_error",
    "catalogue_markdown",
    "collection_suffix",
    "context_html",
    "download_text",
    "evidence_markdown",
    "flagged_sentence",
    "flags",
    "has_code",
    "location",
    "marked_sentences",
    "model_caption",
    "model_label",
    "muted",
    "passage_html",
    "plain_answer",
    "progress_fraction",
    "progress_text",
    "rendered_stream",
    "shown_answer",
    "source_label",
    "summary_fraction",
    "summary_step",
]

NOT_FOUND_NOTE = "not found in your sources"
ADDED_MARKERS_NOTE = "Markers in *italics* were added by the source check, not by the model."
CURSOR = "▌"
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


# --- passages and sources ----------------------------------------------------------------


def passage_html(text: str, question: str) -> str:
    r"""A passage as one HTML block, so Markdown inside it is shown as written.

    Every line end (``\r`` included) becomes ``<br>``: a blank line would end the
    HTML block, and the Markdown after it would be rendered, images included.
    """
    body = _LINE_ENDS.sub("<br>", highlight_html(text.strip(), question))
    return f'<div class="passage">{body}</div>'


def context_html(context: PassageContext, question: str) -> str:
    """A passage between the text before and after it (grey), as one HTML block."""
    before, after = (
        f'<span style="color:#6b7280">{html.escape(part)}</span>' if part else ""
        for part in (context.before, context.after)
    )
    body = before + highlight_html(context.text, question) + after
    return f'<div class="passage">{_LINE_ENDS.sub("<br>", body)}</div>'


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


def collection_suffix(source: Source) -> str:
    """`` · collection name`` for a source from one of several collections asked."""
    return f" · collection {escape_text(source.collection)}" if source.collection else ""


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


# --- the answer ------------------------------------------------------------------------------


def rendered_stream(
    pieces: Iterable[str], clock: Callable[[], float] = time.monotonic
) -> Iterator[str]:
    r"""What to show while an answer streams: all the text so far, with a cursor.

    The whole text is rendered again each time, never a piece alone, so a
    construct that the stream splits (``\`` then ``![x](...)``) is judged whole.
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
    shown = marked_sentences(answer.sentences)
    return replace(plain_answer(answer) if shown is None else shown, draft=draft)


def marked_sentences(sentences: Sequence[SentenceSupport]) -> ShownAnswer | None:
    """Checked sentences as safe Markdown, unsupported ones grey with a note (summaries too).

    None when the marks cannot be placed cleanly (code in the text, or a mark
    the rendering moved): the caller shows the text plain, with notes.
    """
    raw = "".join(s.before + flagged_sentence(s) for s in sentences).strip()
    markdown = safe_markdown(raw)
    lines = markdown.split("\n")
    if has_code(markdown) or not all(_FLAGS_IN_ORDER.fullmatch(flags(line)) for line in lines):
        return None
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


def answer_error(exc: Exception) -> str:
    """The error box text for a question that could not be answered."""
    if isinstance(exc, ModelNotFound):
        return (
            f"Cannot load the model: {escape_text(str(exc))}. Choose another model under "
            "**Settings** in the "
            "sidebar, or set `GPT4ALL_RAG_MODEL_PATH`."
        )
    return f"Could not answer: {escape_text(str(exc))}"


# --- progress lines ------------------------------------------------------------------------


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
        case "check":
            return "Checking the summary against the document…"
        case _:
            return "Writing the summary…"


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
