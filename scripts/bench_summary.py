"""Summary benchmark: how long the bundled model takes to summarize the R FAQ.

Usage:
    nice -n 10 python -m scripts.bench_summary \
        [--pdf bench-data/r-doc-pdf/usr/share/doc/r-doc-pdf/manual/R-FAQ.pdf] \
        [--out bench-results/summary.json] [--note contended]

Copies the PDF into a throwaway documents folder, ingests it into a throwaway index
(the configured embedder: the bundled MiniLM unless GPT4ALL_RAG_EMBEDDING_BACKEND says
otherwise), loads the model (timed apart), then times ``assistant.summary_events``: the
first map step, the first token of the final summary, the end. Reports the model calls,
the prompt and generated tokens, the chunks and pages, and the summary itself, then asks
again to time the cached summary. Prints the figures and saves them as JSON.

The load average at the start and the end is recorded: on a shared machine the figures
are contended, and ``--note`` says so in the JSON.
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
from typing import Any

from gpt4all_rag import DocumentAssistant, Settings
from gpt4all_rag.answering.flow import TokenEvent
from gpt4all_rag.documents.summarize.results import Summary, SummaryProgress
from scripts._common import write_result

DEFAULT_PDF = Path("bench-data/r-doc-pdf/usr/share/doc/r-doc-pdf/manual/R-FAQ.pdf")


def timed_summary(assistant: DocumentAssistant, path: str) -> dict[str, Any]:
    """Run one summary, timing its first step, its first final token and its end."""
    start = time.perf_counter()
    marks: dict[str, float] = {}
    summary: Summary | None = None
    for event in assistant.summary_events(path):
        now = round(time.perf_counter() - start, 3)
        if isinstance(event, SummaryProgress):
            marks.setdefault(f"first_{event.stage}_s", now)
            if event.stage in ("map", "reduce"):
                print(f"  {event.stage} {event.done}/{event.total} at {now:.1f} s", flush=True)
        elif isinstance(event, TokenEvent):
            marks.setdefault("first_final_token_s", now)
        elif isinstance(event, Summary):
            summary = event
    assert summary is not None
    marks["wall_s"] = round(time.perf_counter() - start, 3)
    return {**marks, "summary": summary.to_json()}


def run(pdf: Path, note: str) -> dict[str, Any]:
    """Ingest the PDF into a throwaway index and summarize it twice (fresh, then cached)."""
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as work:
        docs = Path(work) / "docs"
        docs.mkdir()
        shutil.copy(pdf, docs / pdf.name)
        settings = Settings(documents_dir=docs, index_dir=Path(work) / "index")
        assistant = DocumentAssistant.from_settings(settings)
        began = time.perf_counter()
        report = assistant.ingest()
        ingest_s = time.perf_counter() - began
        began = time.perf_counter()
        assistant.llm.count_tokens("warm up")  # loads the GGUF: timed apart from the summary
        load_s = time.perf_counter() - began
        fresh = timed_summary(assistant, pdf.name)
        cached = timed_summary(assistant, pdf.name)
        settings_used = assistant.settings
    summary = fresh["summary"]
    return {
        "file": pdf.name,
        "note": note,
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in load_before],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "model": summary["model"],
        "context_size": settings_used.context_size,
        "max_new_tokens": settings_used.max_new_tokens,
        "pages": len(summary["pages"]),
        "chunks": report.chunks_total,
        "ingest_s": round(ingest_s, 3),
        "model_load_s": round(load_s, 3),
        "summary_wall_s": fresh["wall_s"],
        "first_final_token_s": fresh.get("first_final_token_s"),
        "map_calls": len(summary["sections"]),
        "llm_calls": summary["llm_calls"],
        "prompt_tokens": summary["prompt_tokens"],
        "generated_tokens": summary["generated_tokens"],
        "cited_pages": summary["cited_pages"],
        "cached_wall_s": cached["wall_s"],
        "cached_is_cached": cached["summary"]["cached"],
        "text": summary["text"],
        "sections": summary["sections"],
    }


def main() -> int:
    """Parse the options, run, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--out", type=Path, default=Path("bench-results/summary.json"))
    parser.add_argument("--note", default="", help="e.g. 'contended: 2 cores shared'")
    args = parser.parse_args()
    if not args.pdf.is_file():
        print(f"no {args.pdf}; run scripts/fetch_corpora.sh first", file=sys.stderr)
        return 2
    result = run(args.pdf, args.note)
    write_result(args.out, "bench_summary", result)
    shown = {k: v for k, v in result.items() if k not in ("text", "sections")}
    print(json.dumps(shown, indent=2))
    print("\nSummary:\n" + result["text"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
