"""Ingest benchmark: throughput, stage times, peak RSS, pipeline overhead, unchanged re-sync.

Usage: python -m scripts.bench_ingest [--corpus DIR ...] [--out bench-results/ingest.json]

Each corpus folder is ingested into a fresh index with the bundled MiniLM. Then the
same chunk texts are embedded alone (same model, same batch size) to measure the
pipeline's overhead over the embedding step, and the folder is re-synced unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from scripts._common import peak_rss_mb, write_result


def bench_folder(folder: Path, work: Path) -> dict:
    settings = Settings(documents_dir=folder, index_dir=work / "index")
    assistant = DocumentAssistant.from_settings(settings)
    assistant.embedder.embed_query("warm-up")  # model load is not ingest throughput
    report = assistant.ingest()
    texts = [c.text for c in assistant.store.iter_all()]
    started = time.perf_counter()
    assistant.embedder.embed_documents(texts)
    embed_only = time.perf_counter() - started

    resync_assistant = DocumentAssistant.from_settings(settings)
    started = time.perf_counter()
    resync = resync_assistant.ingest()
    resync_s = time.perf_counter() - started
    files_seen = len(report.added) + len(report.failed)
    return {
        "folder": str(folder),
        "files_indexed": len(report.added),
        "files_failed": len(report.failed),
        "files_skipped_unsupported": len(report.skipped),
        "pages": report.pages,
        "chunks": report.chunks_total,
        "seconds": round(report.seconds, 2),
        "files_per_s": round(files_seen / report.seconds, 2),
        "pages_per_s": round(report.pages / report.seconds, 2),
        "chunks_per_s": round(report.chunks_total / report.seconds, 2),
        "stages_s": report.stages,
        "embedding_alone_s": round(embed_only, 2),
        "pipeline_overhead_pct": round(100 * (report.seconds / embed_only - 1), 1),
        "resync_unchanged_s": round(resync_s, 3),
        "resync_files": resync.unchanged + len(resync.failed),
        "resync_model_loaded": bool(getattr(resync_assistant.embedder, "loaded", False)),
        "failed": [{"file": f, "reason": r} for f, r in report.failed],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="folder(s) to ingest (default: bench-data/r-doc-pdf)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results/ingest.json"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `gpt4all-rag ingest` does
    folders = args.corpus or [Path("bench-data/r-doc-pdf")]
    results = []
    for folder in folders:
        if not folder.is_dir():
            sys.exit(f"{folder} is missing: run scripts/fetch_corpora.sh first")
        work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        try:
            result = bench_folder(folder, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        summary = {k: v for k, v in result.items() if k != "failed"}
        print(json.dumps(summary, indent=2))
        for failure in result["failed"]:
            print(f"  failed: {failure['file']}: {failure['reason']}")
        results.append(result)
    write_result(args.out, "bench_ingest", results)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
