"""The cited page, seen: a PDF page rendered with the passage marked, or a passage in context.

A source names a file, a page and a passage. For a PDF this module renders the page
to a PNG and marks where the passage is on it; for other files it finds the text
before and after the passage in the neighbouring chunks of the index.

Rendering reads untrusted PDFs, so it happens in a child process, as parsing does
(``ingest.loaders.isolated``): a fresh interpreter running ``python -m
gpt4all_rag.pages``, with a memory limit (``RLIMIT_AS``) and a timeout, on a page
scaled to at most ``RenderLimits.max_pixels``. A PDF that crashes PDFium costs one
missing picture, never the app. The child also reads every word's box on the page
(PDFium's text page gives each character's box, in the page's own coordinates, and
``FPDF_PageToDevice`` maps them onto the picture, rotation and crop box included);
the passage is then found among those words in this process, with no PDF open.

Rendered pages are kept under the index folder (``pages/``): one PNG and one JSON of
word boxes per page, named by a hash of the file's path, size, mtime and the page, so
a changed file is rendered afresh. The folder is bounded in bytes; the least recently
used pages go first.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt4all_rag.errors import AssistantError

if TYPE_CHECKING:
    from gpt4all_rag.answer import Source
    from gpt4all_rag.settings import Settings
    from ingest.manifest import Manifest
    from vectorstore.chroma import ChromaStore

__all__ = [
    "CACHE_FOLDER",
    "Box",
    "PageCache",
    "PageImage",
    "PageRenderer",
    "PageUnavailable",
    "PageView",
    "PassageContext",
    "RenderLimits",
    "Word",
    "draw_highlight",
    "is_pdf",
    "locate_passage",
    "passage_context",
]

CACHE_FOLDER = "pages"
"""The folder, under the index folder, that keeps rendered pages."""

_RENDER_VERSION = "1"  # bump when rendering or word boxes change: old entries are not used
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_HIGHLIGHT_FILL = (255, 213, 0, 90)
_HIGHLIGHT_EDGE = (230, 120, 0, 255)


class PageUnavailable(AssistantError):
    """A page could not be shown: not a PDF, no such page, or a PDF that failed to render."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class RenderLimits:
    """How a page is rendered: its resolution, its size cap and the child's limits.

    Attributes:
        dpi: resolution of the picture (100 dpi: an A4 page is 827 x 1169 pixels).
        max_pixels: a larger page is scaled down to this many pixels (a PDF can
            declare a page of 200 x 200 inches).
        memory_bytes: address space of the rendering process (0: no limit).
        timeout_s: seconds one page may take.
    """

    dpi: float = 100.0
    max_pixels: int = 4_000_000
    memory_bytes: int = 2 << 30
    timeout_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderLimits:
        """The parser's memory limit, and its timeout up to a minute (someone is waiting)."""
        return cls(
            memory_bytes=settings.parse_memory_mb << 20,
            timeout_s=min(settings.parse_timeout_s, 60.0),
        )


@dataclass(frozen=True)
class Box:
    """A rectangle on a rendered page, in pixels from its top left corner."""

    left: int
    top: int
    right: int
    bottom: int

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share some area."""
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )


@dataclass(frozen=True)
class Word:
    """A word as PDFium reads it on the page, with its box on the picture."""

    text: str
    box: Box


@dataclass(frozen=True)
class PageImage:
    """A rendered page: the PNG, its size, the words on it and the document's page count."""

    png: bytes
    width: int
    height: int
    words: tuple[Word, ...]
    page_count: int


@dataclass(frozen=True)
class PageView:
    """A page with a passage marked on it (``boxes`` is empty when it was not found)."""

    png: bytes
    width: int
    height: int
    page: int
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class PassageContext:
    """A passage with the text around it in its document (empty where there is none)."""

    before: str
    text: str
    after: str


def is_pdf(path: str | Path) -> bool:
    """Whether the file is a PDF, by its name (as the loaders choose)."""
    return str(path).lower().endswith(".pdf")


# --- the cache ------------------------------------------------------------------------


class PageCache:
    """Rendered pages in a folder, bounded in total bytes; the least recently used go first.

    Each entry is two files, ``<key>.png`` and ``<key>.json``, written whole under a
    temporary name and renamed, so a reader never sees half of one. Reading an entry
    touches it; that modification time is the LRU order, so processes that share an
    index folder share one cache without a lock.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    @classmethod
    def for_settings(cls, settings: Settings) -> PageCache:
        """The cache under the settings' index folder, bounded by ``page_cache_mb``."""
        return cls(settings.index_dir / CACHE_FOLDER, int(settings.page_cache_mb * (1 << 20)))

    def load(self, key: str) -> tuple[bytes, dict[str, Any]] | None:
        """The PNG and word data stored under ``key``, or None."""
        png_path, meta_path = self._paths(key)
        try:
            png = png_path.read_bytes()
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            now = time.time()
            for path in (png_path, meta_path):
                os.utime(path, (now, now))
        except (OSError, ValueError):
            return None
        return png, meta

    def store(self, key: str, png: bytes, meta: dict[str, Any]) -> None:
        """Keep an entry, then evict the oldest until the folder fits its bound."""
        if self.max_bytes <= 0:
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        png_path, meta_path = self._paths(key)
        _write_atomic(meta_path, json.dumps(meta).encode())
        _write_atomic(png_path, png)
        self.evict()

    def total_bytes(self) -> int:
        """Bytes the entries take now."""
        return sum(size for _, size, _ in self._entries())

    def evict(self) -> list[str]:
        """Remove the least recently used entries until the rest fit; return their keys."""
        entries = sorted(self._entries(), key=lambda entry: entry[2])
        total = sum(size for _, size, _ in entries)
        evicted: list[str] = []
        for key, size, _ in entries:
            if total <= self.max_bytes:
                break
            for path in self._paths(key):
                path.unlink(missing_ok=True)
            total -= size
            evicted.append(key)
        return evicted

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.png", self.folder / f"{key}.json"

    def _entries(self) -> list[tuple[str, int, float]]:
        """``(key, bytes, last used)`` of each entry."""
        found: dict[str, tuple[int, float]] = {}
        try:
            listing = list(os.scandir(self.folder))
        except OSError:
            return []
        for entry in listing:
            stem, dot, suffix = entry.name.partition(".")
            if not dot or suffix not in ("png", "json"):
                continue
            try:
                info = entry.stat()
            except OSError:
                continue
            size, used = found.get(stem, (0, 0.0))
            found[stem] = (size + info.st_size, max(used, info.st_mtime))
        return [(key, size, used) for key, (size, used) in found.items()]


def _write_atomic(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- rendering ----------------------------------------------------------------------------


class PageRenderer:
    """Renders PDF pages in a limited child process, through an optional cache."""

    def __init__(self, limits: RenderLimits | None = None, cache: PageCache | None = None) -> None:
        self.limits = limits or RenderLimits()
        self.cache = cache

    @classmethod
    def from_settings(cls, settings: Settings, cached: bool = True) -> PageRenderer:
        """The renderer the settings describe; ``cached`` keeps pages under the index folder."""
        cache = PageCache.for_settings(settings) if cached else None
        return cls(RenderLimits.from_settings(settings), cache)

    def render(self, path: Path, page: int) -> PageImage:
        """Page ``page`` (from 1) of the PDF at ``path``, with its words' boxes.

        Raises:
            PageUnavailable: not a PDF, no such page, or rendering failed.
        """
        if not is_pdf(path):
            raise PageUnavailable(path, "only PDF pages can be rendered")
        key = self._key(path, page)
        cached = self.cache.load(key) if self.cache else None
        if cached is not None:
            return _page_image(*cached)
        png, meta = self._render_isolated(path, page)
        if self.cache:
            self.cache.store(key, png, meta)
        return _page_image(png, meta)

    def view(self, path: Path, page: int, passage: str) -> PageView:
        """The page with ``passage`` marked where its words are found on it."""
        image = self.render(path, page)
        boxes = tuple(locate_passage(image.words, passage))
        png = draw_highlight(image.png, boxes) if boxes else image.png
        return PageView(png, image.width, image.height, page, boxes)

    def text(self, path: Path, page: int) -> str:
        """The text of page ``page`` as the indexer reads it (pypdf), in the child process."""
        if not is_pdf(path):
            raise PageUnavailable(path, "not a PDF")
        with tempfile.TemporaryDirectory(prefix="gpt4all-rag-page-") as folder:
            out = Path(folder)
            self._run_child("text", path, page, out)
            return (out / "page.txt").read_text(encoding="utf-8")

    def _key(self, path: Path, page: int) -> str:
        try:
            info = path.stat()
        except OSError as exc:
            raise PageUnavailable(path, f"cannot read the file: {exc.strerror or exc}") from exc
        limits = self.limits
        key = (
            f"{_RENDER_VERSION}\0{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\0{page}\0"
            f"{limits.dpi}\0{limits.max_pixels}"
        )
        return hashlib.sha256(key.encode()).hexdigest()[:40]

    def _render_isolated(self, path: Path, page: int) -> tuple[bytes, dict[str, Any]]:
        with tempfile.TemporaryDirectory(prefix="gpt4all-rag-page-") as folder:
            out = Path(folder)
            self._run_child("render", path, page, out)
            png = (out / "page.png").read_bytes()
            meta = json.loads((out / "page.json").read_text(encoding="utf-8"))
        return png, meta

    def _run_child(self, action: str, path: Path, page: int, out: Path) -> None:
        limits = self.limits
        request = {
            "action": action,
            "path": str(path),
            "page": page,
            "out": str(out),
            "dpi": limits.dpi,
            "max_pixels": limits.max_pixels,
            "memory_bytes": limits.memory_bytes,
        }
        try:
            done = subprocess.run(
                [sys.executable, "-m", "gpt4all_rag.pages", json.dumps(request)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=limits.timeout_s,
                env=_child_environment(),
                check=False,
            )
        except OSError as exc:
            raise PageUnavailable(path, f"the renderer did not start: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise PageUnavailable(
                path, f"rendering timed out after {limits.timeout_s:g} s"
            ) from exc
        if done.returncode != 0:
            raise PageUnavailable(path, _child_failure(done.returncode, done.stderr))


def _child_environment() -> dict[str, str]:
    """This process's environment, with the project importable from the child."""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _child_failure(code: int, stderr: bytes) -> str:
    """The reason the child gave on its last line, or how it died."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    if code == _EXIT_REFUSED and lines:
        return lines[-1][:200]
    if code < 0:
        return f"the renderer crashed (signal {-code})"
    return f"the renderer failed (exit code {code})"


def _page_image(png: bytes, meta: dict[str, Any]) -> PageImage:
    words = tuple(Word(text, Box(*box)) for text, *box in meta["words"])
    return PageImage(png, int(meta["width"]), int(meta["height"]), words, int(meta["pages"]))


# --- finding the passage on the page ---------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Lower-case letter and digit runs, ligatures (U+FB01) and full-width forms unfolded."""
    return [token.lower() for token in _TOKEN.findall(unicodedata.normalize("NFKC", text))]


def locate_passage(words: Sequence[Word], passage: str) -> list[Box]:
    """The boxes, one per line, that cover ``passage`` among the page's ``words``.

    pypdf (which made the passage) and PDFium (which boxed the words) do not cut the
    text the same way: one keeps a hyphenated word whole, the other splits it, and
    their spaces and punctuation differ. So both are reduced to lower-case letter and
    digit runs and aligned (``difflib``); the page's words from the first to the last
    aligned run of two or more tokens are the passage. Nothing found: an empty list.
    """
    page_tokens: list[str] = []
    owner: list[int] = []  # index of the word each page token comes from
    for index, word in enumerate(words):
        for token in _tokens(word.text):
            page_tokens.append(token)
            owner.append(index)
    wanted = _tokens(passage)
    if not page_tokens or not wanted:
        return []
    matcher = difflib.SequenceMatcher(None, page_tokens, wanted, autojunk=False)
    blocks = _main_run([b for b in matcher.get_matching_blocks() if b.size])
    if sum(b.size for b in blocks) < len(wanted) / 2:  # a few shared words are not the passage
        return []
    first, last = owner[blocks[0].a], owner[blocks[-1].a + blocks[-1].size - 1]
    return _line_boxes([w.box for w in words[first : last + 1]])


def _main_run(blocks: list[difflib.Match]) -> list[difflib.Match]:
    """The aligned blocks around the longest one that sit where the passage says they do.

    A block joins when its distance from the run on the page is about its distance in
    the passage (a few words of slack for words cut differently; one for a block of a
    single word): "of the" matched three paragraphs away is left out.
    """
    if not blocks:
        return []
    best = max(range(len(blocks)), key=lambda i: blocks[i].size)
    run = [blocks[best]]
    for block in reversed(blocks[:best]):
        head = run[0]
        if _fits(head.a - block.a - block.size, head.b - block.b - block.size, block.size):
            run.insert(0, block)
    for block in blocks[best + 1 :]:
        tail = run[-1]
        if _fits(block.a - tail.a - tail.size, block.b - tail.b - tail.size, block.size):
            run.append(block)
    return run


def _fits(page_gap: int, passage_gap: int, size: int) -> bool:
    return page_gap <= passage_gap + (8 if size > 1 else 1)


def _line_boxes(boxes: Sequence[Box]) -> list[Box]:
    """Words merged into one box per line: a word that shares half its height joins it."""
    lines: list[Box] = []
    for box in boxes:
        last = lines[-1] if lines else None
        if last is not None and _same_line(last, box):
            lines[-1] = Box(
                min(last.left, box.left),
                min(last.top, box.top),
                max(last.right, box.right),
                max(last.bottom, box.bottom),
            )
        else:
            lines.append(box)
    return lines


def _same_line(line: Box, box: Box) -> bool:
    shared = min(line.bottom, box.bottom) - max(line.top, box.top)
    height = min(line.bottom - line.top, box.bottom - box.top)
    return height > 0 and shared >= height / 2


def draw_highlight(png: bytes, boxes: Sequence[Box], pad: int = 2) -> bytes:
    """The PNG with each box filled translucent yellow and edged in orange."""
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(png)) as opened:
        page = opened.convert("RGBA")
    layer = Image.new("RGBA", page.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for box in boxes:
        corners = (box.left - pad, box.top - pad, box.right + pad, box.bottom + pad)
        draw.rectangle(corners, fill=_HIGHLIGHT_FILL, outline=_HIGHLIGHT_EDGE, width=2)
    out = io.BytesIO()
    Image.alpha_composite(page, layer).convert("RGB").save(out, "PNG", compress_level=3)
    return out.getvalue()


# --- the passage in context (files without pages to show) ----------------------------------


def passage_context(
    manifest: Manifest, store: ChromaStore, source: Source, chars: int = 600
) -> PassageContext:
    """The text before and after a source's passage, from its neighbouring chunks.

    The manifest lists a file's chunk ids in order, so the neighbours are one lookup
    away and the file is not read again. Where chunks overlap, only the part of a
    neighbour outside the passage is kept; where the splitter cut between them, the
    separators it dropped show as line ends. Up to ``chars`` characters each side,
    cut at a space. A neighbour on another page (a slide) is not context.
    """
    ids = manifest.chunk_ids(source.file)
    if source.chunk_id not in ids:
        return PassageContext("", source.text, "")
    n = ids.index(source.chunk_id)
    wanted = [ids[i] for i in (n - 1, n + 1) if 0 <= i < len(ids)]
    records = {r.id: r for r in store.get(wanted)}
    before = records.get(ids[n - 1]) if n > 0 else None
    after = records.get(ids[n + 1]) if n + 1 < len(ids) else None
    return PassageContext(
        _head_cut(_before_text(before, source), chars),
        source.text,
        _tail_cut(_after_text(after, source), chars),
    )


def _neighbour_fields(record: Any, source: Source) -> tuple[str, int, int] | None:
    if record is None:
        return None
    meta = record.metadata
    if meta.get("page") != source.page:
        return None
    return record.text, int(meta.get("start", -1)), int(meta.get("end", -1))


def _before_text(record: Any, source: Source) -> str:
    fields = _neighbour_fields(record, source)
    if fields is None:
        return ""
    text, start, end = fields
    if source.start is None or start < 0:
        return text
    if start <= source.start < end:  # overlapping chunks: the part before the passage
        return text[: source.start - start]
    return text + _gap(source.start - end)


def _after_text(record: Any, source: Source) -> str:
    fields = _neighbour_fields(record, source)
    if fields is None:
        return ""
    text, start, end = fields
    if source.end is None or start < 0:
        return text
    if start < source.end <= end:
        return text[source.end - start :]
    return _gap(start - source.end) + text


def _gap(chars: int) -> str:
    """What stood between two chunks that do not overlap, shown as line ends.

    The splitter drops the separators it cut at (a paragraph break at most).
    """
    return "\n" * max(0, min(chars, 2))


def _head_cut(text: str, chars: int) -> str:
    """The last ``chars`` characters of ``text``, starting at a word."""
    if len(text) <= chars:
        return text
    tail = text[-chars:]
    space = tail.find(" ")
    return "…" + (tail[space + 1 :] if 0 <= space < chars // 2 else tail)


def _tail_cut(text: str, chars: int) -> str:
    """The first ``chars`` characters of ``text``, ending at a word."""
    if len(text) <= chars:
        return text
    head = text[:chars]
    space = head.rfind(" ")
    return (head[:space] if space > chars // 2 else head) + "…"


# --- the child process ----------------------------------------------------------------------

_EXIT_REFUSED = 3  # the child's reason is on the last line of its stderr


def _child_main(argv: list[str]) -> int:
    """Serve one request: render a page (PNG + word boxes) or extract its text."""
    request: dict[str, Any] = json.loads(argv[1])
    _limit_memory(int(request["memory_bytes"]))
    path, page, out = Path(request["path"]), int(request["page"]), Path(request["out"])
    try:
        if request["action"] == "text":
            (out / "page.txt").write_text(_pypdf_page_text(path, page), encoding="utf-8")
        else:
            png, meta = _render_page(path, page, float(request["dpi"]), request["max_pixels"])
            (out / "page.png").write_bytes(png)
            (out / "page.json").write_text(json.dumps(meta), encoding="utf-8")
    except _Refused as exc:
        sys.stderr.write(f"\n{exc}\n")
        return _EXIT_REFUSED
    except MemoryError:
        sys.stderr.write("\nthe page needs more memory than the renderer may use\n")
        return _EXIT_REFUSED
    except Exception as exc:  # a hostile PDF makes the libraries raise anything
        sys.stderr.write(f"\nnot a valid PDF: {type(exc).__name__}: {str(exc)[:120]}\n")
        return _EXIT_REFUSED
    return 0


class _Refused(Exception):
    """A request the child turns down, with the reason to show."""


def _limit_memory(memory_bytes: int) -> None:
    if memory_bytes <= 0:
        return
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _open_page(document: Any, page: int) -> Any:
    count = len(document)
    if not 1 <= page <= count:
        raise _Refused(f"no page {page} (the PDF has {count})")
    return document[page - 1]


def _render_page(
    path: Path, page: int, dpi: float, max_pixels: int
) -> tuple[bytes, dict[str, Any]]:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:
        raise _Refused(f"not a valid PDF or encrypted ({exc})") from exc
    pdf_page = _open_page(document, page)
    width, height = pdf_page.get_size()
    if width <= 0 or height <= 0:
        raise _Refused("the page has no size")
    scale = min(dpi / 72.0, (max_pixels / (width * height)) ** 0.5)
    while math.ceil(width * scale) * math.ceil(height * scale) > max_pixels:
        scale *= 0.99  # the bitmap's sides are rounded up
    image = pdf_page.render(scale=scale).to_pil()
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)
    words = _page_words(pdf_page, image.width, image.height)
    meta = {"width": image.width, "height": image.height, "pages": len(document), "words": words}
    return out.getvalue(), meta


def _page_words(pdf_page: Any, width: int, height: int) -> list[list[Any]]:
    """Each word on the page and its box on a ``width`` x ``height`` picture of it."""
    textpage = pdf_page.get_textpage()
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count)
    if len(text) != count:  # characters outside the BMP: read them one by one
        text = "".join(textpage.get_text_range(i, 1)[:1] or " " for i in range(count))
    words: list[list[Any]] = []
    start = None
    for index, char in enumerate(text + " "):
        if not char.isspace() and start is None:
            start = index
        elif char.isspace() and start is not None:
            words.append(_word(pdf_page, textpage, text, start, index, width, height))
            start = None
    return [word for word in words if word]


def _word(
    pdf_page: Any, textpage: Any, text: str, start: int, end: int, width: int, height: int
) -> list[Any]:
    """``[text, left, top, right, bottom]`` of one word, in pixels; [] if it has no box."""
    boxes = [textpage.get_charbox(i) for i in range(start, end)]
    boxes = [b for b in boxes if b[2] > b[0] or b[3] > b[1]]
    if not boxes:
        return []
    left, bottom = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
    x1, y1 = _to_device(pdf_page, left, top, width, height)
    x2, y2 = _to_device(pdf_page, right, bottom, width, height)
    return [text[start:end], min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]


def _to_device(pdf_page: Any, x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """A point of the page's space on the picture (PDFium's own mapping: rotation, crop)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    device_x, device_y = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(pdf_page.raw, 0, 0, width, height, 0, x, y, device_x, device_y)
    return device_x.value, device_y.value


def _pypdf_page_text(path: Path, page: int) -> str:
    """One page's text, as ``ingest.loaders.pdf`` extracts and cleans it."""
    from pypdf import PdfReader

    from ingest.loaders.base import clean, quiet_logger

    with quiet_logger("pypdf"):
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Refused("encrypted PDF (password required)")
        count = len(reader.pages)
        if not 1 <= page <= count:
            raise _Refused(f"no page {page} (the PDF has {count})")
        return clean(reader.pages[page - 1].extract_text() or "").rstrip()


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv))
