"""OCR with Tesseract: text for PDF pages without a text layer, and for image files.

Tesseract (Debian's ``tesseract-ocr``) was chosen on evidence: on rendered R-manual
pages it read 0.35% of characters wrong against the text layer, where RapidOCR, whose
models ship inside its wheel, read 5% wrong and was slower (docs/ocr.md). It runs as a
subprocess, one page image at a time, from inside the parser worker process, so the
worker's memory limit applies to it and a stuck page costs one file.

Pages are rendered by pypdfium2. Blank images are not sent to Tesseract at all, so a
text PDF with a few empty pages costs a render each, not an OCR run.

One file's OCR is bounded as a whole (``OcrOptions.max_pages`` and ``timeout_s``): a
2 MB PDF can hold 20,000 blank-looking scanned pages, and at a few seconds a page that
would be a day. Past either bound OCR stops, the pages read so far are indexed, and the
file carries a warning that says so (``warn_partly_read``).
"""

from __future__ import annotations

import contextvars
import ctypes
import functools
import io
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import DocumentLoadError
from ingest.loaders.base import IMAGE_EXTENSIONS, Page, PageBudget, warn_partly_read

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "IMAGE_EXTENSIONS",
    "INSTALL_HINT",
    "OcrBudget",
    "OcrOptions",
    "current_ocr",
    "load_image",
    "ocr_blank_pages",
    "ocr_image",
    "ocr_in_force",
    "ocr_unavailable_reason",
    "render_pdf_page",
]

INSTALL_HINT = "apt-get install tesseract-ocr"
# An A4 page at 300 dpi is 8.7 million pixels; a page or image past this bound is
# scaled down first, so a hostile page size cannot ask for gigabytes of bitmap.
_MAX_PIXELS = 40_000_000
# A page whose darkest pixel is this light has no ink to read: Tesseract is not run.
_BLANK_LEVEL = 245
# A page with less text than this is read by OCR as well (a scanner's stamp, a page number).
_SCANNED_PAGE_CHARS = 40
_LANGUAGES = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*")
_MISSING_LANGUAGE = re.compile(r"Failed loading language '([^']+)'")


@dataclass(frozen=True)
class OcrOptions:
    """Whether and how scanned pages and images are read.

    Attributes:
        enabled: OCR at all; off, a scanned PDF fails as having no text and an image
            file fails with the reason.
        dpi: resolution pages are rendered at; 300 is what Tesseract is trained for.
        languages: Tesseract language codes joined by ``+`` (``eng+deu``); each needs
            its data package (``tesseract-ocr-deu``).
        command: the Tesseract program, found on ``PATH`` unless a path is given.
        max_pages: pages (or image frames) of one file read by OCR; the rest are left
            unread, with a warning.
        timeout_s: seconds the OCR of one file may take in all; past it the page being
            read is abandoned and the rest left unread, with a warning.
    """

    enabled: bool = True
    dpi: int = 300
    languages: str = "eng"
    command: str = "tesseract"
    max_pages: int = 500
    timeout_s: float = 3600.0


class _OutOfTime(Exception):
    """Tesseract ran past the file's OCR deadline (and was killed)."""


class OcrBudget:
    """The pages and seconds one file's OCR may still take.

    Checked before each page, and handed to Tesseract as its timeout, so that neither
    a flood of pages nor a slow one can keep a file past its deadline.
    """

    def __init__(self, path: Path, options: OcrOptions) -> None:
        self.path = path
        self.options = options
        self.pages = 0
        self.deadline = time.monotonic() + options.timeout_s
        self.stopped: str | None = None

    def allows_another(self) -> bool:
        """Whether one more page may be read; the first refusal records the warning."""
        if self.stopped is None and self.pages >= self.options.max_pages:
            self._stop(f"the per-file limit of {self.options.max_pages:,} pages")
        elif self.stopped is None and self.seconds_left() <= 0:
            self._stop(f"the per-file time limit of {self.options.timeout_s:g} s")
        return self.stopped is None

    def read(self, image: Image.Image) -> str | None:
        """OCR one page within the budget; None (and a warning) once the budget is spent."""
        if not self.allows_another():
            return None
        try:
            text = ocr_image(image, self.options, self.path, timeout_s=self.seconds_left())
        except _OutOfTime:
            self._stop(f"the per-file time limit of {self.options.timeout_s:g} s")
            return None
        self.pages += 1
        return text

    def seconds_left(self) -> float:
        """Seconds until the file's OCR deadline."""
        return self.deadline - time.monotonic()

    def _stop(self, limit: str) -> None:
        pages = "1 page" if self.pages == 1 else f"{self.pages:,} pages"
        self.stopped = f"OCR stopped after {pages}: {limit}"
        warn_partly_read(self.stopped)


_OPTIONS: contextvars.ContextVar[OcrOptions | None] = contextvars.ContextVar(
    "ocr_options", default=None
)
_PROGRESS: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "ocr_progress", default=None
)


def current_ocr() -> OcrOptions:
    """The OCR options in force (``ocr_in_force``), else the defaults."""
    return _OPTIONS.get() or OcrOptions()


@contextmanager
def ocr_in_force(options: OcrOptions, progress: Callable[[], None] | None = None) -> Iterator[None]:
    """Use ``options`` for the loads in the block; call ``progress`` after each OCR'd page.

    The worker process passes a ``progress`` that tells its parent a page is done, so
    the parse timeout counts from the last page and a long scanned book is not cut off.
    """
    tokens = (_OPTIONS.set(options), _PROGRESS.set(progress))
    try:
        yield
    finally:
        _PROGRESS.reset(tokens[1])
        _OPTIONS.reset(tokens[0])


def ocr_unavailable_reason(options: OcrOptions) -> str | None:
    """Why OCR cannot run (turned off, Tesseract missing, bad languages), or None."""
    if not options.enabled:
        return "OCR is turned off (GPT4ALL_RAG_OCR_ENABLED=false)"
    if shutil.which(options.command) is None:
        return f"OCR needs Tesseract, which is not installed ({INSTALL_HINT})"
    if not _LANGUAGES.fullmatch(options.languages):
        return f"OCR languages {options.languages!r} are not Tesseract codes like eng+deu"
    return None


def load_image(path: Path) -> list[Page]:
    """Read an image file by OCR: one page per frame (a multi-page TIFF), else unpaged."""
    from PIL import Image, ImageSequence  # on the first image: Pillow costs start-up time

    options = current_ocr()
    reason = ocr_unavailable_reason(options)
    if reason is not None:
        raise DocumentLoadError(path, f"image file: {reason}")
    budget, ocr = PageBudget(path), OcrBudget(path, options)
    with Image.open(path) as image:
        frames = getattr(image, "n_frames", 1)
        pages = []
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            text = ocr.read(frame)
            if text is None:
                break
            budget.add(text)
            pages.append(Page(text, number if frames > 1 else None))
    if ocr.stopped and not any(page.text.strip() for page in pages):
        raise DocumentLoadError(path, ocr.stopped)
    return pages


def ocr_blank_pages(path: Path, pages: list[Page]) -> list[Page]:
    """Fill the PDF pages that have (almost) no text layer with the OCR of their image.

    A page with fewer than ``_SCANNED_PAGE_CHARS`` characters of text is read: many
    scanners stamp "Scanned with ..." on every page, and that line alone is not the
    page. The OCR replaces the text layer only where it reads more, so a short title
    page keeps its own text.

    Without OCR (off or not installed) the pages come back as they are: the text pages
    are indexed, and a PDF with no text at all fails with the reason OCR did not run.
    A page pdfium cannot render keeps its text, as a page pypdf cannot read.
    """
    short = [page.page for page in pages if page.page and _nearly_blank(page.text)]
    if not short:
        return pages
    options = current_ocr()
    reason = ocr_unavailable_reason(options)
    if reason is not None:
        if not any(page.text.strip() for page in pages):
            raise DocumentLoadError(path, f"no text layer (scanned PDF?); {reason}")
        return pages
    ocr = OcrBudget(path, options)
    texts = dict(_ocr_pdf_pages(path, short, ocr))
    filled = [_richer(page, texts.get(page.page or 0, "")) for page in pages]
    if ocr.stopped and not any(page.text.strip() for page in filled):
        raise DocumentLoadError(path, ocr.stopped)
    return filled


def _nearly_blank(text: str) -> bool:
    return len(text.strip()) < _SCANNED_PAGE_CHARS


def _richer(page: Page, ocr_text: str) -> Page:
    """The page with the OCR text if it holds more than the text layer."""
    if len(ocr_text.strip()) > len(page.text.strip()):
        return replace(page, text=ocr_text)
    return page


def _ocr_pdf_pages(path: Path, numbers: list[int], ocr: OcrBudget) -> Iterator[tuple[int, str]]:
    """(page number, OCR text) for the 1-based ``numbers``, within the file's OCR budget.

    Pages pdfium fails on are left out; so are the pages past the budget.
    """
    import pypdfium2  # PDFium: loaded for the first scanned PDF only

    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError:
        return
    try:
        for number in numbers:
            if not ocr.allows_another():
                return
            try:
                image = render_pdf_page(document, number, ocr.options.dpi)
            except (pypdfium2.PdfiumError, ValueError, IndexError):
                continue
            text = ocr.read(image)
            if text is None:
                return
            yield number, text
    finally:
        document.close()


def render_pdf_page(document: object, number: int, dpi: int) -> Image.Image:
    """Render 1-based page ``number`` of a ``pypdfium2.PdfDocument`` in grey at ``dpi``.

    The scale is lowered for a page so large that it would exceed ``_MAX_PIXELS``.
    """
    page = document[number - 1]  # type: ignore[index]
    try:
        width, height = page.get_size()
        scale = dpi / 72
        pixels = max(width * scale * height * scale, 1.0)
        if pixels > _MAX_PIXELS:
            scale *= (_MAX_PIXELS / pixels) ** 0.5
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def ocr_image(
    image: Image.Image, options: OcrOptions, path: Path, timeout_s: float | None = None
) -> str:
    """The text Tesseract reads in ``image``; "" for a blank image (not sent to it).

    Raises:
        DocumentLoadError: Tesseract failed (a missing language pack, a bad image).
        _OutOfTime: Tesseract ran past ``timeout_s`` and was killed (``OcrBudget``).
    """
    grey = _bounded(image).convert("L")
    darkest = grey.getextrema()[0]  # one band: (darkest, lightest)
    if isinstance(darkest, int | float) and darkest >= _BLANK_LEVEL:
        return ""
    png = io.BytesIO()
    grey.save(png, format="PNG")
    try:
        result = _run_tesseract(png.getvalue(), options, timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise _OutOfTime from exc
    if result.returncode != 0:
        raise DocumentLoadError(path, _tesseract_failure(result.stderr, options))
    progress = _PROGRESS.get()
    if progress is not None:
        progress()
    return result.stdout.decode("utf-8", errors="replace")


def _bounded(image: Image.Image) -> Image.Image:
    """``image``, scaled down if it has more than ``_MAX_PIXELS`` pixels."""
    width, height = image.size
    if width * height <= _MAX_PIXELS:
        return image
    factor = (_MAX_PIXELS / (width * height)) ** 0.5
    return image.resize((max(1, int(width * factor)), max(1, int(height * factor))))


def _run_tesseract(
    png: bytes, options: OcrOptions, timeout_s: float | None = None
) -> subprocess.CompletedProcess[bytes]:
    """One Tesseract run on one page image, reading stdin and writing stdout.

    One OpenMP thread: on a shared machine Tesseract's threads spin against each other
    (three times slower on two busy cores, docs/ocr.md), and pages are independent.
    """
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    command = [options.command, "stdin", "stdout", "-l", options.languages]
    command += ["--dpi", str(options.dpi), "--psm", "3"]
    return subprocess.run(
        command,
        input=png,
        capture_output=True,
        env=env,
        check=False,
        timeout=None if timeout_s is None else max(timeout_s, 0.001),
        preexec_fn=_die_with_parent(),
    )


def _die_with_parent() -> Callable[[], object] | None:
    """What the Tesseract child runs before exec: ask Linux to kill it when its parent dies.

    A worker killed for a timeout then takes its Tesseract with it. Only in a process
    with one thread (the worker): code between fork and exec is unsafe beside others.
    """
    prctl = _prctl()
    if prctl is None or threading.active_count() > 1:
        return None
    return lambda: prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """The C library's ``prctl``, looked up before any fork; None off Linux."""
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _tesseract_failure(stderr: bytes, options: OcrOptions) -> str:
    """A short reason for a failed Tesseract run, with the fix where it is known."""
    message = stderr.decode("utf-8", errors="replace")
    missing = _MISSING_LANGUAGE.search(message)
    if missing:
        code = missing.group(1)
        return (
            f"OCR: Tesseract has no {code!r} language data (apt-get install tesseract-ocr-{code})"
        )
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    detail = lines[-1][:120] if lines else "no message"
    return f"OCR: Tesseract failed ({detail})"
