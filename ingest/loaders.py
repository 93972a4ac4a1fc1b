"""One loader per file type, chosen by extension from ``LOADERS``; each returns plain-text pages.

``load_file`` is the only entry point callers need: it picks the loader, cleans the text
and turns every failure into ``DocumentLoadError`` so one bad file never stops an ingest.
"""

from __future__ import annotations

import codecs
import csv
import email
import io
import json
import logging
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import charset_normalizer
import docx
import ebooklib
import pptx
from docx.table import Table
from ebooklib import epub
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.errors import DocumentLoadError, UnsupportedFileType

__all__ = [
    "LOADERS",
    "Page",
    "decode_text",
    "html_to_text",
    "load_file",
    "stream_file",
    "supported_extensions",
]

# fmt: off
TEXT_EXTENSIONS = (
    ".txt", ".md", ".rst", ".log",
    ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".c", ".h", ".cpp", ".hpp", ".cs", ".go",
    ".rs", ".rb", ".php", ".sh", ".sql", ".r", ".swift", ".kt", ".scala", ".lua", ".pl", ".tex",
    ".yaml", ".yml", ".toml", ".ini", ".cfg", ".xml",
)
# fmt: on

# Text decoded from a binary file is full of control characters; real text has almost none
# (tabs, newlines and the odd form feed or ANSI escape are allowed for).
_BINARY_SNIFF_BYTES = 8192
_MAX_CONTROL_RATIO = 0.05
# A streamed text file is read in blocks of this size and cut into segments at the last
# paragraph (else line, else space) break of each block: the memory of one block.
_STREAM_BLOCK_BYTES = 1 << 20
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")
_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_HTML_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template", "head"})
# A newline after each block element keeps sentences whole: separating every text node
# with "\n" would also split a sentence at each inline <a>, <b> or <span>.
# fmt: off
_HTML_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot",
    "tr", "ul",
})
# fmt: on
_HTML_CELL_TAGS = frozenset({"td", "th"})
_BLANK_RUN = re.compile(r"\n{3,}")

_EMAIL_HEADERS = ("Subject", "From", "To", "Date")
_CSV_DELIMITERS = ",;\t|"
_MAX_DETAIL_CHARS = 120


@dataclass(frozen=True)
class Page:
    """The text of one page of a document.

    Attributes:
        text: Plain text, cleaned by ``load_file``.
        page: 1-based page number for PDF pages and PPTX slides; None for unpaged formats.
        offset: where ``text`` starts in the whole document's text: non-zero only for
            the segments of a streamed text file (``stream_file``).
    """

    text: str
    page: int | None
    offset: int = 0


def supported_extensions() -> frozenset[str]:
    """Return the lower-case extensions, with the dot, that ``load_file`` can read."""
    return frozenset(LOADERS)


def load_file(path: Path) -> list[Page]:
    """Read one file into pages of text, dropping pages that have none.

    Args:
        path: The file; its lower-cased extension picks the loader.

    Returns:
        The non-empty pages, in document order.

    Raises:
        UnsupportedFileType: No loader handles the extension.
        DocumentLoadError: The file is empty, unreadable, malformed or has no text.
    """
    path = Path(path)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise UnsupportedFileType(path)
    with _load_errors_as(path):
        _check_regular_nonempty(path)
        pages = _clean_pages(loader(path))
    if not pages:
        raise DocumentLoadError(path, _no_text_reason(path))
    return pages


def stream_file(path: Path) -> Iterator[Page]:
    """Like ``load_file``, page by page; a plain-text file is never read whole.

    A text file comes in segments of about a megabyte, cut at paragraph breaks, so a
    file of any size costs the memory of one segment. Other formats are loaded whole
    and then handed out page by page (their parsers need the whole file).

    Raises:
        UnsupportedFileType: No loader handles the extension.
        DocumentLoadError: As ``load_file``, possibly after some pages were handed out.
    """
    path = Path(path)
    if LOADERS.get(path.suffix.lower()) is not _load_text:
        yield from load_file(path)
        return
    with _load_errors_as(path):
        _check_regular_nonempty(path)
        produced = False
        for page in _stream_text(path):
            produced = True
            yield page
    if not produced:
        raise DocumentLoadError(path, _no_text_reason(path))


def _check_regular_nonempty(path: Path) -> None:
    """Refuse a directory (office formats would read it as an unzipped package) or 0 bytes."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise DocumentLoadError(path, "is a directory")
    if info.st_size == 0:
        raise DocumentLoadError(path, "empty file")


@contextmanager
def _load_errors_as(path: Path) -> Iterator[None]:
    """Turn any failure inside the block into ``DocumentLoadError`` for ``path``.

    Parsers for these formats raise all kinds of exceptions on malformed input (zip, XML,
    key and type errors); callers should only have to handle one.
    """
    try:
        yield
    except (DocumentLoadError, MemoryError):
        raise
    except OSError as exc:
        raise DocumentLoadError(path, _os_error_reason(exc)) from exc
    except RecursionError as exc:
        raise DocumentLoadError(path, "document nested too deeply") from exc
    except Exception as exc:
        format_name = path.suffix.lstrip(".").upper()
        raise DocumentLoadError(path, f"not a valid {format_name}: {_short(exc)}") from exc


def _os_error_reason(exc: OSError) -> str:
    """Describe a file-system error as a short reason."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    return f"could not read file: {(exc.strerror or _short(exc)).lower()}"


def _short(exc: BaseException) -> str:
    """Return the first line of an exception's message, bounded in length."""
    # str(KeyError) is the repr of its argument, quotes included; use the argument itself.
    message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    lines = message.strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    if len(detail) > _MAX_DETAIL_CHARS:
        return detail[: _MAX_DETAIL_CHARS - 3] + "..."
    return detail


def _no_text_reason(path: Path) -> str:
    """Explain an empty result; for PDFs the usual cause is a scan without OCR."""
    if path.suffix.lower() == ".pdf":
        return "no extractable text (scanned PDF without a text layer?)"
    return "no extractable text"


def _clean_pages(pages: list[Page]) -> list[Page]:
    """Normalize line endings, remove NULs and trailing whitespace, drop blank pages."""
    cleaned = [Page(_clean(page.text).rstrip(), page.page) for page in pages]
    return [page for page in cleaned if page.text]  # no strip() copy of a huge text


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


# --- text and its encoding ---------------------------------------------------------------


def decode_text(data: bytes, path: Path) -> str:
    """Decode the bytes of a text file: a Unicode BOM, then UTF-8, then the best guess.

    Args:
        data: The raw file content.
        path: The file, named in the error.

    Returns:
        The decoded text (a UTF-8 BOM is removed).

    Raises:
        DocumentLoadError: The bytes look binary rather than like text.
    """
    text = _decode_with_bom(data)
    if text is None:
        if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
            raise DocumentLoadError(path, "binary content, not text")
        text = _decode_utf8_or_guess(data)
    if text is None or _looks_binary(text[:_BINARY_SNIFF_BYTES]):
        raise DocumentLoadError(path, "binary content, not text")
    return text


def _decode_with_bom(data: bytes) -> str | None:
    """Decode UTF-16/32 text marked by a BOM; their NUL bytes are not a sign of binary."""
    for bom, encoding in _UNICODE_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _decode_utf8_or_guess(data: bytes) -> str | None:
    """Decode as UTF-8, else with charset-normalizer's best guess; None if it has none."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(data).best()
        return None if best is None else str(best)


_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")  # Cc less _ALLOWED_CONTROLS


def _looks_binary(text: str) -> bool:
    """Return True when too many characters are control characters."""
    controls = len(text) - len(_CONTROLS.sub("", text))
    return controls > _MAX_CONTROL_RATIO * max(len(text), 1)


def _load_text(path: Path) -> list[Page]:
    """Load a plain-text, Markdown, source or configuration file as one page."""
    return [Page(decode_text(path.read_bytes(), path), None)]


def _stream_text(path: Path) -> Iterator[Page]:
    """Yield a text file's cleaned segments, each cut after a paragraph or line break.

    The last block is never cut, so a file of one block is one segment, the very page
    that ``load_file`` returns.
    """
    offset = 0
    pending = carried = ""
    with path.open("rb") as file:
        block = file.read(_STREAM_BLOCK_BYTES)
        decoder = codecs.getincrementaldecoder(_stream_encoding(block, path))(errors="replace")
        while block:
            following = file.read(_STREAM_BLOCK_BYTES)
            decoded = carried + decoder.decode(block, final=not following)
            carried = ""
            if following and decoded.endswith("\r"):  # keep a "\r\n" across blocks whole
                decoded, carried = decoded[:-1], "\r"
            if _looks_binary(decoded):  # the whole block: binary may start anywhere
                raise DocumentLoadError(path, "binary content, not text")
            text = pending + _clean(decoded)
            cut = _segment_end(text) if following else len(text)
            pending = text[cut:]
            yield from _segment(text[:cut], offset)
            offset += cut
            block = following


def _segment(text: str, offset: int) -> Iterator[Page]:
    if text.strip():
        yield Page(text.rstrip(), None, offset)


def _segment_end(text: str) -> int:
    """Where to cut a block: after its last paragraph break, else line break, else space."""
    for mark in ("\n\n", "\n", " "):
        at = text.rfind(mark)
        if at > 0:
            return at + len(mark)
    return len(text)


def _stream_encoding(head: bytes, path: Path) -> str:
    """Pick the codec of a streamed file from its first block (as ``decode_text`` would)."""
    for bom, encoding in _UNICODE_BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head[:_BINARY_SNIFF_BYTES]:
        raise DocumentLoadError(path, "binary content, not text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # a cut character is fine
        return "utf-8-sig"
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(head).best()
        if best is None:
            raise DocumentLoadError(path, "binary content, not text") from None
        return str(best.encoding)


# --- PDF -----------------------------------------------------------------------------------


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
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


def _load_pdf(path: Path) -> list[Page]:
    """Load a PDF as one page of text per PDF page, numbered from 1."""
    with _quiet_logger("pypdf"):
        reader = PdfReader(path)
        _unlock_pdf(reader, path)
        return _pdf_pages(reader, path)


def _unlock_pdf(reader: PdfReader, path: Path) -> None:
    """Open an encrypted PDF with the empty user password, common for "protected" files."""
    if not reader.is_encrypted:
        return
    try:
        result = reader.decrypt("")
    except DependencyError as exc:
        raise DocumentLoadError(path, "encrypted PDF (needs the cryptography package)") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise DocumentLoadError(path, "encrypted PDF (password required)")


def _pdf_pages(reader: PdfReader, path: Path) -> list[Page]:
    """Extract each page's text, skipping pages whose extraction fails."""
    pages: list[Page] = []
    failures = 0
    for number, pdf_page in enumerate(reader.pages, start=1):
        try:
            pages.append(Page(pdf_page.extract_text() or "", number))
        except Exception:  # one broken page should not cost the rest of the document
            failures += 1
    if failures and not pages:
        raise DocumentLoadError(path, "not a valid PDF: text extraction failed on every page")
    return pages


# --- HTML and EPUB -------------------------------------------------------------------------


class _VisibleText(HTMLParser):
    """Collect an HTML document's visible text in one pass over its tags.

    A tokenizer, not a tree: the time is linear in the input however deeply the elements
    nest (building a tree and editing it was quadratic for 100,000 nested divs). Unclosed
    elements need no repair: a block tag only asks for a line break, at its start and at
    its end, and a run of breaks counts as one.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._hidden: list[str] = []
        self._in_title = False
        self._title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # an unclosed <head> ends where the body starts
            self._hidden = [name for name in self._hidden if name != "head"]
        if tag in _HTML_HIDDEN_TAGS:
            self._hidden.append(tag)
        elif tag == "title" and not self._title_done:
            self._in_title = True
        elif tag in _HTML_BLOCK_TAGS:
            self._break()
        elif tag in _HTML_CELL_TAGS:
            self._space()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_HIDDEN_TAGS:
            if tag in self._hidden:  # close it and whatever was left open inside it
                last = len(self._hidden) - 1 - self._hidden[::-1].index(tag)
                del self._hidden[last:]
        elif tag == "title" and self._in_title:
            self._in_title, self._title_done = False, True
        elif tag in _HTML_BLOCK_TAGS:
            self._break()
        elif tag in _HTML_CELL_TAGS:
            self._space()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            self.parts.append(data)

    def _break(self) -> None:
        if not self._hidden and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def _space(self) -> None:
        if not self._hidden and self.parts and not self.parts[-1][-1:].isspace():
            self.parts.append(" ")


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML document, its title as the first line.

    Args:
        html: The document's markup.

    Returns:
        One line per block element, runs of blank lines collapsed to one.
    """
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    title = " ".join("".join(parser.title).split())
    lines = [" ".join(line.split()) for line in f"{title}\n{''.join(parser.parts)}".splitlines()]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def _load_html(path: Path) -> list[Page]:
    """Load the visible text of an HTML page as one page."""
    return [Page(html_to_text(decode_text(path.read_bytes(), path)), None)]


def _load_epub(path: Path) -> list[Page]:
    """Load an EPUB's chapters, in reading order, as one page."""
    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    chapters = [
        html_to_text(decode_text(item.get_content(), path)) for item in _epub_chapters(book)
    ]
    return [Page("\n\n".join(chapter for chapter in chapters if chapter), None)]


def _epub_chapters(book: epub.EpubBook) -> list[Any]:
    """Return the book's documents in spine (reading) order, or all of them without a spine.

    The navigation document (the table of contents) is left out: it only repeats titles.
    """
    items = [book.get_item_with_id(idref) for idref, _linear in book.spine]
    if not any(items):
        items = list(book.get_items_of_type(ebooklib.ITEM_DOCUMENT))
    return [
        item
        for item in items
        if item and item.get_type() == ebooklib.ITEM_DOCUMENT and not isinstance(item, epub.EpubNav)
    ]


# --- tabular and structured text -----------------------------------------------------------


def _load_csv(path: Path) -> list[Page]:
    """Load a CSV file (delimiter sniffed) as one ``header: value`` line per row."""
    text = decode_text(path.read_bytes(), path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:_BINARY_SNIFF_BYTES], delimiters=_CSV_DELIMITERS
        )
    except csv.Error:
        dialect = csv.excel
    return [Page("\n".join(_table_lines(csv.reader(io.StringIO(text), dialect))), None)]


def _load_tsv(path: Path) -> list[Page]:
    """Load a tab-separated file as one ``header: value`` line per row."""
    text = decode_text(path.read_bytes(), path)
    return [Page("\n".join(_table_lines(csv.reader(io.StringIO(text), csv.excel_tab))), None)]


def _table_lines(rows: Iterator[list[str]]) -> Iterator[str]:
    """Yield each data row as ``h1: v1 | h2: v2`` so a row reads on its own; skip empty cells.

    Cells past the header, or under a blank header, are named ``column N`` (1-based).
    """
    header = [name.strip() for name in next(rows, [])]
    for row in rows:
        names = [
            (header[i] if i < len(header) else "") or f"column {i + 1}" for i in range(len(row))
        ]
        cells = [
            f"{name}: {value.strip()}"
            for name, value in zip(names, row, strict=True)
            if value.strip()
        ]
        if cells:
            yield " | ".join(cells)


def _load_json(path: Path) -> list[Page]:
    """Load a JSON document as one ``a.b[0].c: value`` line per scalar."""
    text = decode_text(path.read_bytes(), path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentLoadError(
            path, f"invalid JSON: line {exc.lineno} column {exc.colno}"
        ) from exc
    return [Page("\n".join(_flatten_json(data, "")), None)]


def _flatten_json(value: Any, prefix: str) -> Iterator[str]:
    """Yield ``path: value`` for every scalar under ``value``; ``prefix`` is its own path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten_json(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten_json(item, f"{prefix}[{index}]")
    else:
        scalar = value if isinstance(value, str) else json.dumps(value)
        yield f"{prefix}: {scalar}" if prefix else scalar


# --- office documents ----------------------------------------------------------------------


def _load_docx(path: Path) -> list[Page]:
    """Load a Word document's paragraphs and tables, in document order, as one page."""
    document = docx.Document(str(path))
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(" | ".join(cell.text for cell in row.cells) for row in block.rows)
        else:
            lines.append(block.text)
    return [Page("\n".join(lines), None)]


def _load_pptx(path: Path) -> list[Page]:
    """Load a PowerPoint deck as one page per slide, numbered from 1."""
    presentation = pptx.Presentation(str(path))
    return [
        Page("\n".join(line for shape in slide.shapes for line in _shape_lines(shape)), number)
        for number, slide in enumerate(presentation.slides, start=1)
    ]


def _shape_lines(shape: BaseShape) -> Iterator[str]:
    """Yield the text of a slide shape: its text frame, table rows, or grouped shapes."""
    if isinstance(shape, GroupShape):
        for member in shape.shapes:
            yield from _shape_lines(member)
    elif shape.has_text_frame:
        yield shape.text_frame.text  # type: ignore[attr-defined]
    elif shape.has_table:
        for row in shape.table.rows:  # type: ignore[attr-defined]
            yield " | ".join(cell.text for cell in row.cells)


# --- e-mail --------------------------------------------------------------------------------


def _load_eml(path: Path) -> list[Page]:
    """Load an e-mail as its main headers followed by its body."""
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    lines = [f"{name}: {message[name]}" for name in _EMAIL_HEADERS if message[name]]
    body = message.get_body(("plain", "html")) if isinstance(message, EmailMessage) else None
    if body is not None:
        lines += ["", _email_part_text(body, path)]
    return [Page("\n".join(lines), None)]


def _email_part_text(part: Message, path: Path) -> str:
    """Decode a text part with its declared charset, else guess; HTML becomes plain text."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset()
    try:
        text = data.decode(charset) if charset else decode_text(data, path)
    except (LookupError, UnicodeDecodeError):
        text = decode_text(data, path)
    return html_to_text(text) if part.get_content_subtype() == "html" else text


LOADERS: dict[str, Callable[[Path], list[Page]]] = {
    **dict.fromkeys(TEXT_EXTENSIONS, _load_text),
    ".pdf": _load_pdf,
    ".html": _load_html,
    ".htm": _load_html,
    ".csv": _load_csv,
    ".tsv": _load_tsv,
    ".docx": _load_docx,
    ".pptx": _load_pptx,
    ".epub": _load_epub,
    ".eml": _load_eml,
    ".json": _load_json,
}
