"""Summary benchmark: how long the bundled model takes to summarize the R FAQ, and its checks.

Usage:
    nice -n 10 python -m scripts.bench_summary \
        [--pdf bench-data/r-doc-pdf/usr/share/doc/r-doc-pdf/manual/R-FAQ.pdf] \
        [--out bench-results/summary.json] [--note contended]
    python -m scripts.bench_summary --pdf documents/solar-system.html \
        --recheck bench-results/summary-before.json   # check a saved (older) summary

Copies the PDF into a throwaway documents folder, ingests it into a throwaway index
(the configured embedder: the bundled MiniLM unless GPT4ALL_RAG_EMBEDDING_BACKEND says
otherwise), loads the model (timed apart), then times ``assistant.summary_events``: the
first map step, the first token of the final summary, the end. Reports the model calls,
the prompt and generated tokens, the chunks and pages, and the summary itself, then asks
again to time the cached summary. Prints the figures and saves them as JSON.

The load average at the start and the end is recorded: on a shared machine the figures
are contended, and ``--note`` says so in the JSON.

The source check (issue 25, item 3): the figures count the sentences of the summary
and of its sections, the claims among them, and those flagged, and every sentence is
printed with its mark, support and reason, to be read against the document (is a
flagged one really wrong, a supported one right?). ``--recheck`` runs today's check on
a summary saved by an earlier run (one made before summaries were checked), without
the model: the same sentences, judged by the same check.
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
from gpt4all_rag.documents.summarize.checking import (
    LINKED_APART,
    SummaryChecker,
    mostly_unsupported,
)
from gpt4all_rag.documents.summarize.document import indexed_document
from gpt4all_rag.documents.summarize.hygiene import (
    LISTED_TWICE,
    SAME_BOTH_SIDES,
    readable_chunks,
    tidy_model_text,
)
from gpt4all_rag.documents.summarize.results import Summary, SummaryProgress, sentence_json
from scripts._common import read_result, write_result

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
        "check": check_figures(summary),
        "text": summary["text"],
        "sentences": summary["sentences"],
        "quotes": summary["quotes"],
        "sections": summary["sections"],
    }


def _tally(rows: list[dict[str, Any]]) -> dict[str, int]:
    claims = [r for r in rows if r["claim"]]
    return {
        "sentences": len(rows),
        "claims": len(claims),
        "flagged": sum(not r["supported"] for r in rows),
        "flagged_linked_apart": sum(r["reason"] == LINKED_APART for r in rows),
        "flagged_same_both_sides": sum(r["reason"] == SAME_BOTH_SIDES for r in rows),
        "flagged_listed_twice": sum(r["reason"] == LISTED_TWICE for r in rows),
    }


def check_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """Sentences, claims and flagged ones, of the summary and of all its sections."""
    sections = [row for s in summary["sections"] for row in s.get("sentences", [])]
    claims = [r for r in summary["sentences"] if r["claim"]]
    return {
        "summary": _tally(summary["sentences"]),
        "sections": _tally(sections),
        "mostly_unsupported": bool(claims)
        and 2 * sum(not r["supported"] for r in claims) >= len(claims),
        "quotes": len(summary.get("quotes", [])),
        "check_s": summary.get("check_seconds", 0.0),
        "html_tags": "<p>" in summary["text"] or "</p>" in summary["text"],
        "index_rows": ". . . ." in summary["text"],
    }


def recheck(saved: dict[str, Any], source: Path) -> dict[str, Any]:
    """Today's hygiene and check on a summary an earlier run saved (its text and sections)."""
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as work:
        docs = Path(work) / "docs"
        docs.mkdir()
        shutil.copy(source, docs / source.name)
        settings = Settings(documents_dir=docs, index_dir=Path(work) / "index")
        assistant = DocumentAssistant.from_settings(settings)
        assistant.ingest()
        chunks = readable_chunks(indexed_document(assistant, source.name).chunks)
        checker = SummaryChecker(assistant.embedder, assistant.settings.support_threshold)
        check = checker.for_document(source.name, chunks)
        began = time.perf_counter()
        text = tidy_model_text(saved["text"])
        final = check.sentences(text)
        quotes = [q.to_json() for q in check.quotes()] if mostly_unsupported(final) else []
        sentences = [sentence_json(s) for s in final]
        sections = []
        for section in saved["sections"]:
            pages = set(section["pages"])
            numbers = [n for n, c in enumerate(chunks, start=1) if c.page in pages]
            tidied = tidy_model_text(section["text"])
            checked = check.sentences(tidied, numbers)
            sections.append(
                {
                    "text": tidied,
                    "pages": section["pages"],
                    "sentences": [sentence_json(s) for s in checked],
                }
            )
        check_s = time.perf_counter() - began
    summary = {"text": text, "sentences": sentences, "sections": sections, "quotes": quotes}
    figures = check_figures({**summary, "check_seconds": round(check_s, 3)})
    return {"file": source.name, "rechecked": True, "check": figures, **summary}


def print_sentences(result: dict[str, Any]) -> None:
    """Every checked sentence with its mark, to be read against the document."""
    groups = [("summary", result["sentences"])]
    groups += [
        (f"section {s.get('pages', '')}", s.get("sentences", [])) for s in result["sections"]
    ]
    for name, rows in groups:
        if len(result["sections"]) == 1 and name != "summary":
            continue  # one call: the section is the summary
        print(f"\n{name}:")
        for row in rows:
            mark = "ok  " if row["supported"] and row["claim"] else "----"
            mark = "FLAG" if not row["supported"] else mark
            reason = f"  ({row['reason']})" if row["reason"] else ""
            print(f"  [{mark}] {row['support']:.2f} {' '.join(row['text'].split())}{reason}")


def main() -> int:
    """Parse the options, run, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--out", type=Path, default=Path("bench-results/summary.json"))
    parser.add_argument("--note", default="", help="e.g. 'contended: 2 cores shared'")
    parser.add_argument(
        "--recheck", type=Path, help="check the summary this earlier result file holds, no model"
    )
    args = parser.parse_args()
    if not args.pdf.is_file():
        print(f"no {args.pdf}; run scripts/fetch_corpora.sh first", file=sys.stderr)
        return 2
    if args.recheck:
        result = recheck(read_result(args.recheck), args.pdf)
    else:
        result = run(args.pdf, args.note)
    write_result(args.out, "bench_summary", result)
    long = ("text", "sections", "sentences", "quotes")
    shown = {k: v for k, v in result.items() if k not in long}
    print(json.dumps(shown, indent=2))
    print("\nSummary:\n" + result["text"])
    print_sentences(result)
    for quote in result.get("quotes", []):
        print(f"  quote (p. {quote['page']}): {' '.join(quote['text'].split())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
