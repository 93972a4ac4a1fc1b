"""Rendering a cited PDF page: in a limited child process, through the page cache.

:class:`PageRenderer` asks the child (``pages.child``) for a page's PNG and word
boxes, keeps them in the page cache (``pages.cache``), and marks the passage on the
picture (``pages.locate``). A cache entry is keyed by a hash of the file's path, size,
mtime and the page, so a changed file is rendered afresh.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt4all_rag.documents.pages.cache import PageCache
from gpt4all_rag.documents.pages.child import EXIT_REFUSED
from gpt4all_rag.documents.pages.locate import Box, Word, draw_highlight, locate_passage
from gpt4all_rag.errors import AssistantError
from ingest.sandbox import child_environment

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = [
    "PageImage",
    "PageRenderer",
    "PageUnavailable",
    "PageView",
    "RenderLimits",
    "is_pdf",
]

_RENDER_VERSION = "1"  # bump when rendering or word boxes change: old entries are not used


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


def is_pdf(path: str | Path) -> bool:
    """Whether the file is a PDF, by its name (as the loaders choose)."""
    return str(path).lower().endswith(".pdf")


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
                [sys.executable, "-m", "gpt4all_rag.documents.pages.child", json.dumps(request)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=limits.timeout_s,
                env=child_environment(),
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


def _child_failure(code: int, stderr: bytes) -> str:
    """The reason the child gave on its last line, or how it died."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    if code == EXIT_REFUSED and lines:
        return lines[-1][:200]
    if code < 0:
        return f"the renderer crashed (signal {-code})"
    return f"the renderer failed (exit code {code})"


def _page_image(png: bytes, meta: dict[str, Any]) -> PageImage:
    words = tuple(Word(text, Box(*box)) for text, *box in meta["words"])
    return PageImage(png, int(meta["width"]), int(meta["height"]), words, int(meta["pages"]))
