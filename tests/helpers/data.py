"""The committed test documents (tests/data) and what ingesting them gives."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA", "DOCS", "DOCS_CHUNKS", "DOCS_FAILED", "DOCS_GOOD", "GOOD_TEXT", "WORDS_TEXT"]

DATA = Path(__file__).resolve().parents[1] / "data"
DOCS = DATA / "docs"

# What ingesting tests/data/docs gives (see tests/data/README.md): the good files, the
# bad ones with a substring of their reason, and chunks per file at 200/32 tokens.
DOCS_GOOD = [
    "book.epub",
    "latin1.txt",
    "manual.pdf",
    "notes.md",
    "page.html",
    "report.docx",
    "slides.pptx",
    "table.csv",
]
DOCS_FAILED = {
    "binary.txt": "binary content, not text",
    "corrupt.pdf": "not a valid PDF",
    "empty.txt": "empty file",
    "encrypted.pdf": "encrypted PDF (password required)",
}
DOCS_CHUNKS = {
    "book.epub": 1,
    "latin1.txt": 1,
    "manual.pdf": 3,
    "notes.md": 5,
    "page.html": 1,
    "report.docx": 1,
    "slides.pptx": 2,
    "table.csv": 1,
}

# One small good document: what an index must keep whatever happens beside it.
GOOD_TEXT = "# Otters\n\nThe river otter sleeps in a holt under the old mill.\n"
# A 300-sentence manual of numbered words: several chunks, every one different.
WORDS_TEXT = "# Manual\n\n" + " ".join(f"word{n} is the {n}th word." for n in range(300)) + "\n"
