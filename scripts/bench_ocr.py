"""OCR accuracy and speed: R-manual pages rendered to images, read back by Tesseract.

The pages have a text layer, so the truth is known: each sampled page is rendered by
pypdfium2 (as the PDF loader renders a scanned page), read by the product's own
``ocr_image``, and compared with what pypdf extracts from the text layer (what the
index holds for a text PDF). Both texts are NFKC-normalized (ligatures such as "ﬁ"
become "fi") and their whitespace collapsed to single spaces; the character error rate
is the edit distance (Levenshtein) over the reference's length, summed over pages.

    .venv/bin/python -m scripts.bench_ocr --pages 20

Prints and saves JSON to bench-results/ocr.json: the engine and its version, the CER
(pooled, median, worst page), pages/s of OCR alone and with rendering, the load
average (two shared cores: a load over 2 means the times are contended), and each
page's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pypdfium2
from pypdf import PdfReader

from ingest.loaders.ocr import OcrOptions, ocr_image, render_pdf_page
from scripts._common import ROOT, write_result

MANUALS = ROOT / "bench-data/r-doc-pdf/usr/share/doc/r-doc-pdf/manual"
DEFAULT_PDFS = ["R-intro", "R-FAQ", "R-admin", "R-data", "R-lang", "R-exts", "R-ints"]
MIN_REFERENCE_CHARS = 500  # a page of running text, not a title or a blank page
# Contents and index pages (". . . . 27" leaders) are not running text; Tesseract reads
# leaders as runs of "eee" (84% CER on an R-data index page), see docs/ocr.md.
LEADERS = re.compile(r"(?:\. ){8}")


def normalize(text: str) -> str:
    """NFKC, whitespace collapsed: what OCR is judged on is the characters, not the layout."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row of the table at a time in numpy (pages are long).

    Within a row, insertions chain left to right: ``row[j] = min(cand[j], row[j-1] + 1)``
    is a running minimum of ``cand[k] - k``, shifted back by ``j``.
    """
    if not a or not b:
        return len(a) + len(b)
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    offsets = np.arange(len(codes) + 1)
    previous = offsets.copy()
    for i, char in enumerate(a, start=1):
        cost = (codes != ord(char)).astype(np.int64)
        candidate = np.empty(len(codes) + 1, dtype=np.int64)
        candidate[0] = i
        candidate[1:] = np.minimum(previous[1:] + 1, previous[:-1] + cost)
        previous = np.minimum.accumulate(candidate - offsets) + offsets
    return int(previous[-1])


def sample_pages(pdfs: list[Path], count: int, seed: int) -> list[tuple[Path, int, str]]:
    """``count`` pages of running text, spread evenly over ``pdfs`` (path, 1-based page, text).

    Figures and code stay in: what is left out is short pages and contents/index pages.
    """
    rng = random.Random(seed)
    per_pdf = -(-count // len(pdfs))
    chosen: list[tuple[Path, int, str]] = []
    for pdf in pdfs:
        reader = PdfReader(pdf)
        order = list(range(len(reader.pages)))
        rng.shuffle(order)
        taken = 0
        for index in order:
            text = reader.pages[index].extract_text() or ""
            if len(normalize(text)) >= MIN_REFERENCE_CHARS and not LEADERS.search(text):
                chosen.append((pdf, index + 1, text))
                taken += 1
                if taken == per_pdf:
                    break
    return chosen[:count]


@dataclass(frozen=True)
class PageResult:
    """One page: where it is, its reference length, OCR errors and times."""

    file: str
    page: int
    chars: int
    errors: int
    cer: float
    render_s: float
    ocr_s: float


def measure(page: tuple[Path, int, str], options: OcrOptions) -> PageResult:
    """Render, OCR and score one page."""
    pdf, number, reference = page
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        started = time.perf_counter()
        image = render_pdf_page(document, number, options.dpi)
        rendered = time.perf_counter()
        text = ocr_image(image, options, pdf)
        done = time.perf_counter()
    finally:
        document.close()
    truth, read = normalize(reference), normalize(text)
    errors = edit_distance(truth, read)
    return PageResult(
        pdf.name,
        number,
        len(truth),
        errors,
        round(errors / len(truth), 5),
        round(rendered - started, 3),
        round(done - rendered, 3),
    )


def engine_version(command: str) -> str:
    result = subprocess.run([command, "--version"], capture_output=True, text=True, check=False)
    lines = (result.stdout or result.stderr).splitlines()
    return lines[0].strip() if lines else "unknown"


def summarize(rows: list[PageResult], options: OcrOptions, load: float) -> dict[str, object]:
    chars = sum(row.chars for row in rows)
    errors = sum(row.errors for row in rows)
    ocr_s = sum(row.ocr_s for row in rows)
    render_s = sum(row.render_s for row in rows)
    cers = [row.cer for row in rows]
    return {
        "engine": engine_version(options.command),
        "languages": options.languages,
        "dpi": options.dpi,
        "pages": len(rows),
        "sample": "pages of 500+ characters without dot leaders (contents, index)",
        "reference_chars": chars,
        "cer": round(errors / chars, 5),
        "cer_median": round(statistics.median(cers), 5),
        "cer_worst": max(cers),
        "ocr_pages_per_s": round(len(rows) / ocr_s, 3),
        "pages_per_s_with_render": round(len(rows) / (ocr_s + render_s), 3),
        "load_average_1min_before": round(load, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "per_page": [asdict(row) for row in rows],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, action="append", help="default: seven R manuals")
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--languages", default="eng")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "ocr.json")
    args = parser.parse_args()
    pdfs = args.pdf or [MANUALS / f"{name}.pdf" for name in DEFAULT_PDFS]
    options = OcrOptions(dpi=args.dpi, languages=args.languages)
    load = os.getloadavg()[0]
    rows = []
    for page in sample_pages(pdfs, args.pages, args.seed):
        rows.append(measure(page, options))
        print(json.dumps(asdict(rows[-1])), file=sys.stderr)  # noqa: T201
    summary = summarize(rows, options, load)
    write_result(args.out, "bench_ocr", summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "per_page"}, indent=2))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
