"""What every loader shares: pages, limits, text cleaning and one error type.

The ``Page``, the limits a file must stay within, and the translation of any parser
failure into one ``DocumentLoadError``.
"""

from __future__ import annotations

import contextvars
import logging
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.errors import DocumentLoadError

__all__ = [
    "IMAGE_EXTENSIONS",
    "Heading",
    "LoadLimits",
    "Page",
    "PageBudget",
    "Pages",
    "check_regular_nonempty",
    "clean",
    "clean_pages",
    "collecting_warnings",
    "current_limits",
    "limits_in_force",
    "load_errors_as",
    "no_text_reason",
    "quiet_logger",
    "short",
    "warn_partly_read",
    "warnings_of",
]

_MAX_DETAIL_CHARS = 120

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
"""Image files, read by OCR (``ocr.load_image``)."""


@dataclass(frozen=True)
class Heading:
    """A section heading that starts on a page (PDF outline entry, Markdown ``#``, ``<h2>``).

    The chunker finds ``title`` in the page's text to place it, and prefixes the chunks
    below it with the trail of headings above them: retrieval then knows that a passage
    about "the first argument" is in "7.1 Operating system access".

    Attributes:
        level: 1 for a chapter, 2 for a section, and so on.
        title: the heading's text as the document shows it.
    """

    level: int
    title: str


@dataclass(frozen=True)
class Page:
    """The text of one page of a document.

    Attributes:
        text: Plain text, cleaned by ``load_file``.
        page: 1-based page number for PDF pages and PPTX slides; None for unpaged formats.
        offset: where ``text`` starts in the whole document's text: non-zero only for
            the segments of a streamed text file (``stream_file``).
        headings: the headings that start on this page, in reading order.
        title: the document's title, where the file says it (PDF or DOCX properties,
            HTML ``<title>``); the same on every page.
    """

    text: str
    page: int | None
    offset: int = 0
    headings: tuple[Heading, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class LoadLimits:
    """How much one file may expand to while it is read (hostile or runaway documents).

    Attributes:
        max_pages: pages (PDF pages, slides) read from one file.
        max_chars: characters of text extracted from one file.
        max_unzipped_bytes: total uncompressed size of a zip-based file (docx, pptx, epub).
        max_zip_ratio: uncompressed / compressed size of such a file, checked once it
            unzips to more than ``ratio_floor_bytes`` (small files may compress well).
        ratio_floor_bytes: see ``max_zip_ratio``.
    """

    max_pages: int = 20_000
    max_chars: int = 64_000_000
    max_unzipped_bytes: int = 512 << 20
    max_zip_ratio: float = 100.0
    ratio_floor_bytes: int = 16 << 20


class Pages(list[Page]):
    """A file's pages, with the warnings of a file read only in part.

    A damaged PDF of which one page reads, a scan whose OCR stopped at the per-file
    limit: what reads is indexed, and the person is told. A list, so that every caller
    of ``load_file`` reads it as before; it pickles with its ``warnings`` across the
    worker process's pipe.
    """

    def __init__(self, pages: Iterable[Page] = (), warnings: Iterable[str] = ()) -> None:
        super().__init__(pages)
        self.warnings = list(warnings)


def warnings_of(pages: list[Page]) -> list[str]:
    """The warnings ``pages`` carries (none for a plain list from another loader)."""
    return list(pages.warnings) if isinstance(pages, Pages) else []


_WARNINGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "load_warnings", default=None
)


@contextmanager
def collecting_warnings() -> Iterator[list[str]]:
    """Gather the ``warn_partly_read`` reasons of the loads in the block into the list."""
    gathered: list[str] = []
    token = _WARNINGS.set(gathered)
    try:
        yield gathered
    finally:
        _WARNINGS.reset(token)


def warn_partly_read(reason: str) -> None:
    """Record that the file being loaded was read only in part, and why.

    Loaders call it deep inside a load (the OCR of one page); ``load_file`` hands the
    reasons back with the pages. Outside ``collecting_warnings`` it does nothing.
    """
    gathered = _WARNINGS.get()
    if gathered is not None and reason not in gathered:
        gathered.append(reason)


_DEFAULT_LIMITS = LoadLimits()
_LIMITS: contextvars.ContextVar[LoadLimits | None] = contextvars.ContextVar(
    "load_limits", default=None
)


def current_limits() -> LoadLimits:
    """The limits of the file being loaded (set by ``load_file``), for the loaders to check."""
    return _LIMITS.get() or _DEFAULT_LIMITS


@contextmanager
def limits_in_force(limits: LoadLimits) -> Iterator[None]:
    """Let the loaders called in the block see ``limits`` (loaders keep a one-argument API)."""
    token = _LIMITS.set(limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)


class PageBudget:
    """Counts a file's pages and characters as a loader produces them; raises past the limits.

    A loader that produces pages one by one (PDF, PPTX) adds each as it comes, so a file
    whose thousand pages all point at one huge stream stops at the cap, not at the end.
    """

    def __init__(self, path: Path, limits: LoadLimits | None = None) -> None:
        self.path = path
        self.limits = limits or current_limits()
        self.pages = 0
        self.chars = 0

    def add(self, text: str) -> None:
        """Count one page of ``text``; raise ``DocumentLoadError`` past a limit."""
        self.pages += 1
        if self.pages > self.limits.max_pages:
            raise DocumentLoadError(self.path, f"too many pages (over {self.limits.max_pages:,})")
        self.add_text(text)

    def add_text(self, text: str) -> None:
        """Count characters that are not a page of their own (a line, a cell)."""
        self.chars += len(text)
        if self.chars > self.limits.max_chars:
            raise DocumentLoadError(
                self.path, f"too much text (over {self.limits.max_chars:,} characters)"
            )


def check_regular_nonempty(path: Path) -> None:
    """Refuse a directory (office formats would read it as an unzipped package) or 0 bytes."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise DocumentLoadError(path, "is a directory")
    if info.st_size == 0:
        raise DocumentLoadError(path, "empty file")


@contextmanager
def load_errors_as(path: Path) -> Iterator[None]:
    """Turn any failure inside the block into ``DocumentLoadError`` for ``path``.

    Parsers for these formats raise all kinds of exceptions on malformed input (zip, XML,
    key and type errors); callers should only have to handle one. ``MemoryError`` passes
    through: the isolated loader (``ingest.loaders.isolated``) reports it as a reason.
    """
    try:
        yield
    except (DocumentLoadError, MemoryError):
        raise
    except OSError as exc:
        raise DocumentLoadError(path, os_error_reason(exc)) from exc
    except RecursionError as exc:
        raise DocumentLoadError(path, "document nested too deeply") from exc
    except Exception as exc:
        format_name = path.suffix.lstrip(".").upper()
        raise DocumentLoadError(path, f"not a valid {format_name}: {short(exc)}") from exc


def os_error_reason(exc: OSError) -> str:
    """Describe a file-system error as a short reason."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    return f"could not read file: {(exc.strerror or short(exc)).lower()}"


def short(exc: BaseException) -> str:
    """Return the first line of an exception's message, bounded in length."""
    # str(KeyError) is the repr of its argument, quotes included; use the argument itself.
    message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    lines = message.strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    if len(detail) > _MAX_DETAIL_CHARS:
        return detail[: _MAX_DETAIL_CHARS - 3] + "..."
    return detail


def no_text_reason(path: Path) -> str:
    """Explain an empty result; for PDFs the usual cause is a scan without OCR."""
    if path.suffix.lower() == ".pdf":
        return "no extractable text (scanned PDF without a text layer?)"
    return "no extractable text"


def clean_pages(pages: list[Page]) -> list[Page]:
    """Normalize line endings, remove NULs and trailing whitespace, drop blank pages."""
    cleaned = [replace(page, text=clean(page.text).rstrip()) for page in pages]
    return [page for page in cleaned if page.text]  # no strip() copy of a huge text


def clean(text: str) -> str:
    """Unix line endings and no NUL characters."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Raise a library's logger level for the block, then restore it.

    pypdf logs every recoverable defect of a malformed PDF; for the user the outcome (pages
    or a ``DocumentLoadError``) is what matters, not the noise on stderr.
    """
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)
