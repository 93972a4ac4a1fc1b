"""Parse and chunk every file of a corpus without embedding: which files index, which fail and why.

Usage: python -m scripts.check_corpus FOLDER [--out bench-results/corpus-check.json]

Runs the pipeline's own scan, loaders and chunker (the steps where a hostile or
odd file can fail), so a corpus of hundreds of PDFs is checked in minutes instead
of the hours that embedding it on a CPU takes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from gpt4all_rag.settings import Settings
from ingest.chunking import TokenChunker
from ingest.errors import DocumentLoadError
from ingest.loaders import load_file
from ingest.scan import scan_folder
from scripts._common import peak_rss_mb, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--only", default=".pdf", help="extension to check ('' for all)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/corpus-check.json"))
    args = parser.parse_args()
    settings = Settings()
    chunker = TokenChunker(
        settings.resolved_embedding_model() / "tokenizer.json",
        settings.chunk_size,
        settings.chunk_overlap,
    )
    scan = scan_folder(args.folder)
    files = [f for f in scan.files if not args.only or f.path.lower().endswith(args.only)]
    started = time.perf_counter()
    pages = chunks = 0
    failed: list[dict[str, str]] = []
    for n, stat in enumerate(files, start=1):
        try:
            loaded = load_file(stat.abs_path)
        except DocumentLoadError as exc:
            failed.append({"file": stat.path, "reason": exc.reason})
            continue
        pages += len(loaded)
        chunks += len(chunker.split(loaded))
        if n % 50 == 0:
            print(f"{n}/{len(files)} files, {pages} pages", file=sys.stderr)
    seconds = time.perf_counter() - started
    result = {
        "folder": str(args.folder),
        "files": len(files),
        "indexed": len(files) - len(failed),
        "failed": len(failed),
        "failure_reasons": Counter(f["reason"].split(":")[0] for f in failed),
        "pages": pages,
        "chunks": chunks,
        "seconds": round(seconds, 1),
        "pages_per_s": round(pages / seconds, 1) if seconds else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(json.dumps(result, indent=2))
    write_result(args.out, "check_corpus", result | {"failures": failed})


if __name__ == "__main__":
    main()
