"""The child process that reads an untrusted PDF: one page rendered, or its text extracted.

Rendering reads untrusted PDFs, so it happens in a child process, as parsing does
(``ingest.loaders.isolated``): a fresh interpreter running ``python -m
gpt4all_rag.documents.pages.child``, with a memory limit (``RLIMIT_AS``) and a timeout,
on a page scaled to at most ``RenderLimits.max_pixels``. A PDF that crashes PDFium
costs one missing picture, never the app. The child also reads every word's box on
the page (PDFium's text page gives each character's box, in the page's own
coordinates, and ``FPDF_PageToDevice`` maps them onto the picture, rotation and crop
box included).

The request is one JSON argument (``action``, ``path``, ``page``, ``out``, ``dpi``,
``max_pixels``, ``memory_bytes``); the answer is files in ``out``, or exit code
:data:`EXIT_REFUSED` with the reason on the last line of stderr.
"""

from __future__ import annotations

import ctypes
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

from ingest.sandbox import limit_memory

__all__ = ["EXIT_REFUSED", "main"]

EXIT_REFUSED = 3  # the child's reason is on the last line of its stderr


def main(argv: list[str]) -> int:
    """Serve one request: render a page (PNG + word boxes) or extract its text."""
    request: dict[str, Any] = json.loads(argv[1])
    limit_memory(int(request["memory_bytes"]))
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
        return EXIT_REFUSED
    except MemoryError:
        sys.stderr.write("\nthe page needs more memory than the renderer may use\n")
        return EXIT_REFUSED
    except Exception as exc:  # a hostile PDF makes the libraries raise anything
        sys.stderr.write(f"\nnot a valid PDF: {type(exc).__name__}: {str(exc)[:120]}\n")
        return EXIT_REFUSED
    return 0


class _Refused(Exception):
    """A request the child turns down, with the reason to show."""


def _open_page(document: Any, page: int) -> Any:
    count = len(document)
    if not 1 <= page <= count:
        raise _Refused(f"no page {page} (the PDF has {count})")
    return document[page - 1]


def _render_page(
    path: Path, page: int, dpi: float, max_pixels: int
) -> tuple[bytes, dict[str, Any]]:
    import pypdfium2  # imported on use: the parent imports this module for EXIT_REFUSED

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
    import pypdfium2.raw as pdfium_c  # on use, as above

    device_x, device_y = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(pdf_page.raw, 0, 0, width, height, 0, x, y, device_x, device_y)
    return device_x.value, device_y.value


def _pypdf_page_text(path: Path, page: int) -> str:
    """One page's text, as ``ingest.loaders.pdf`` extracts and cleans it."""
    from pypdf import PdfReader  # on use, as above

    from ingest.loaders.base import clean, quiet_logger  # the loaders' imports: on use too

    with quiet_logger("pypdf"):
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Refused("encrypted PDF (password required)")
        count = len(reader.pages)
        if not 1 <= page <= count:
            raise _Refused(f"no page {page} (the PDF has {count})")
        return clean(reader.pages[page - 1].extract_text() or "").rstrip()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
