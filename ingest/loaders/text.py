"""Plain text in any encoding.

Decoding (BOM, UTF-8, best guess), the binary check, and the streaming reader that
never holds a big file whole.
"""

from __future__ import annotations

import bisect
import codecs
import re
from collections.abc import Iterator
from pathlib import Path

import charset_normalizer

from ingest.errors import DocumentLoadError
from ingest.loaders.base import Heading, Page, clean

__all__ = [
    "BINARY_SNIFF_BYTES",
    "TEXT_EXTENSIONS",
    "decode_text",
    "load_text",
    "markdown_headings",
    "stream_text",
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
BINARY_SNIFF_BYTES = 8192
_MAX_CONTROL_RATIO = 0.05
# A streamed text file is read in blocks of this size and cut into segments at the last
# paragraph (else line, else space) break of each block: the memory of one block.
_STREAM_BLOCK_BYTES = 1 << 20
_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")  # Cc less \t\n\r\f\v\x1b


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
        if b"\x00" in data[:BINARY_SNIFF_BYTES]:
            raise DocumentLoadError(path, "binary content, not text")
        text = _decode_utf8_or_guess(data)
    if text is None or looks_binary(text[:BINARY_SNIFF_BYTES]):
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


def looks_binary(text: str) -> bool:
    """Return True when too many characters are control characters."""
    controls = len(text) - len(_CONTROLS.sub("", text))
    return controls > _MAX_CONTROL_RATIO * max(len(text), 1)


_MARKDOWN = frozenset({".md", ".markdown"})
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)
_MAX_HEADINGS = 5000


def load_text(path: Path) -> list[Page]:
    """Load a plain-text, Markdown, source or configuration file as one page."""
    text = decode_text(path.read_bytes(), path)
    return [Page(text, None, headings=_headings_of(path, text))]


def _headings_of(path: Path, text: str) -> tuple[Heading, ...]:
    return markdown_headings(text) if path.suffix.lower() in _MARKDOWN else ()


def markdown_headings(text: str) -> tuple[Heading, ...]:
    """The ``#`` headings of a Markdown text, in order, outside fenced code blocks."""
    fences = [m.start() for m in _FENCE.finditer(text)]
    headings: list[Heading] = []
    for match in _ATX_HEADING.finditer(text):
        if bisect.bisect_left(fences, match.start()) % 2:  # inside a code block
            continue
        headings.append(Heading(len(match.group(1)), " ".join(match.group(2).split())))
        if len(headings) >= _MAX_HEADINGS:
            break
    return tuple(headings)


def stream_text(path: Path) -> Iterator[Page]:
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
            if looks_binary(decoded):  # the whole block: binary may start anywhere
                raise DocumentLoadError(path, "binary content, not text")
            text = pending + clean(decoded)
            cut = _segment_end(text) if following else len(text)
            pending = text[cut:]
            yield from _segment(text[:cut], offset, path.suffix.lower() in _MARKDOWN)
            offset += cut
            block = following


def _segment(text: str, offset: int, markdown: bool) -> Iterator[Page]:
    if text.strip():
        headings = markdown_headings(text) if markdown else ()
        yield Page(text.rstrip(), None, offset, headings=headings)


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
    if b"\x00" in head[:BINARY_SNIFF_BYTES]:
        raise DocumentLoadError(path, "binary content, not text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # a cut character is fine
        return "utf-8-sig"
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(head).best()
        if best is None:
            raise DocumentLoadError(path, "binary content, not text") from None
        return str(best.encoding)
