"""The evidence benchmark (``bench_answers.py --evidence-only``): retrieval and evidence, no model.

Each dev-set question is retrieved once, through the product's own flow (the same
search, fusion and abstention as ``ask``); then every variant of the evidence picks
its sentences from the same sources, with a fresh embedding cache each, so that its
time is what the evidence step would cost in an answer. A variant is the product's
evidence with one lever switched (``VARIANTS``): the gain of each lever is read
against ``before`` measured in the same run. Questions are split by the parity of
their number (``exts-02`` even): tune on the even ones, check on the odd ones.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gpt4all_rag import DocumentAssistant, Settings
from gpt4all_rag.answering.flow import Question as FlowQuestion
from gpt4all_rag.trust.embedding import CachedEmbedder
from gpt4all_rag.trust.evidence import select_evidence
from gpt4all_rag.trust.quotable import EvidenceRules
from scripts._common import write_result
from scripts.devset_common import Question, contains_facts, page_matches

__all__ = ["VARIANTS", "Variant", "run_evidence_only"]


@dataclass(frozen=True)
class Variant:
    """One way of choosing the evidence: the rules, and whether it reads every source."""

    rules: EvidenceRules
    all_sources: bool = False
    max_words: int | None = None  # None: the settings' evidence_words


BEFORE = EvidenceRules.before()
AFTER = EvidenceRules()
LEVERS = BEFORE.but(keep_code=True, skip_toc=True, max_sentences=None)
VARIANTS: dict[str, Variant] = {
    "before": Variant(BEFORE, max_words=60),  # the code before: 60 words, 3 sentences
    "all_sources": Variant(BEFORE, all_sources=True, max_words=60),
    "after_heading": Variant(BEFORE.but(after_heading=True), max_words=60),
    "keep_code": Variant(BEFORE.but(keep_code=True), max_words=60),
    "identifiers": Variant(BEFORE.but(identifiers=True), max_words=60),
    "identifiers.2": Variant(BEFORE.but(identifiers=True, identifier_weight=0.2), max_words=60),
    "names": Variant(BEFORE.but(names=True), max_words=60),
    "window2": Variant(BEFORE.but(window=2), max_words=60),
    "word_budget": Variant(BEFORE.but(max_sentences=None), max_words=60),
    "words80": Variant(BEFORE.but(max_sentences=None), max_words=80),
    "no_toc": Variant(BEFORE.but(skip_toc=True), max_words=60),
    "code+toc+words60": Variant(LEVERS, max_words=60),
    "code+toc+words80": Variant(LEVERS, max_words=80),
    "code+toc+words100": Variant(LEVERS, max_words=100),
    "+window2@80": Variant(LEVERS.but(window=2), max_words=80),
    "+window2@100": Variant(LEVERS.but(window=2), max_words=100),
    "+ids@80": Variant(LEVERS.but(identifiers=True, names=True), max_words=80),
    "+ids.2@80": Variant(
        LEVERS.but(identifiers=True, names=True, identifier_weight=0.2), max_words=80
    ),
    "+heading@80": Variant(LEVERS.but(after_heading=True), max_words=80),
    "+all_sources@80": Variant(LEVERS, all_sources=True, max_words=80),
    "after": Variant(AFTER),
    "after+no_cap": Variant(AFTER.but(max_sentences=None)),
    "after+heading": Variant(AFTER.but(after_heading=True, max_sentences=None)),
    "after+ids": Variant(AFTER.but(identifiers=True, names=True, max_sentences=None)),
    "after+window2": Variant(AFTER.but(window=2, max_sentences=None)),
    "after_all_sources": Variant(AFTER.but(max_sentences=None), all_sources=True),
}


# Timed with a fresh embedding cache each (what one answer costs); the others share one
# cache per question, as the machine these figures come from is shared and loaded.
TIMED = ("before", "after", "after+no_cap")


def _parity(q: Question) -> str:
    digits = "".join(ch for ch in q.id if ch.isdigit())
    return "even" if digits and int(digits) % 2 == 0 else "odd"


def _rate(rows: Sequence[dict[str, Any]], key: str) -> str:
    hits = sum(bool(r[key]) for r in rows)
    return f"{hits}/{len(rows)} ({hits / len(rows):.0%})" if rows else "-"


def run_evidence_only(args: argparse.Namespace, questions: list[Question]) -> int:
    """Retrieve each answerable question once, score every variant's evidence, print and save."""
    settings = Settings(documents_dir=args.docs, index_dir=args.index, answer_style="evidence")
    assistant = DocumentAssistant.from_settings(settings)
    assistant.ingest()
    flow, read = assistant.flow, settings.read_passages
    names = [n.strip() for n in args.levers.split(",") if n.strip()] or list(VARIANTS)
    rows: list[dict[str, Any]] = []
    for q in (q for q in questions if q.answerable):
        question = FlowQuestion(q.question)
        started = time.perf_counter()
        retrieval = flow.retrieve(question, flow.plan(question))
        retrieve_s = time.perf_counter() - started
        row: dict[str, Any] = {"id": q.id, "split": _parity(q), "retrieve_s": retrieve_s}
        row["fact_in_sources"] = bool(
            contains_facts(q.facts, " ".join(s.text for s in retrieval.sources))
        )
        row["fact_in_read"] = bool(
            contains_facts(q.facts, " ".join(s.text for s in retrieval.sources[:read]))
        )
        shared = CachedEmbedder(assistant.embedder)  # the machine is shared: embed once
        for name in names:
            variant = VARIANTS[name]
            sources = retrieval.sources if variant.all_sources else retrieval.sources[:read]
            timed = name in TIMED
            started = time.perf_counter()
            evidence = select_evidence(
                retrieval.standalone,
                sources,
                CachedEmbedder(assistant.embedder) if timed else shared,
                max_words=variant.max_words or settings.evidence_words,
                rules=variant.rules,
            )
            row[f"{name}_s"] = time.perf_counter() - started if timed else None
            text = " ".join(e.text for e in evidence)
            row[name] = bool(contains_facts(q.facts, text))
            row[f"{name}_page"] = any(page_matches(q, e.file, e.page) for e in evidence)
            row[f"{name}_text"] = [e.text for e in evidence]
        rows.append(row)
        marks = "".join("y" if row[n] else "." for n in names)
        print(f"{q.id:<9} src={'y' if row['fact_in_sources'] else '.'} {marks}", flush=True)
    summary = _summary(rows, names)
    _print_summary(summary)
    write_result(args.out, "bench_evidence", {"summary": summary, "questions": rows}, indent=1)
    print(f"saved {args.out}")
    return 0


def _summary(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    even = [r for r in rows if r["split"] == "even"]
    odd = [r for r in rows if r["split"] == "odd"]
    summary: dict[str, Any] = {
        "fact_in_sources": _rate(rows, "fact_in_sources"),
        "fact_in_read": _rate(rows, "fact_in_read"),
        "median_retrieve_s": round(statistics.median(r["retrieve_s"] for r in rows), 3),
    }
    for name in names:
        summary[name] = {
            "all": _rate(rows, name),
            "even": _rate(even, name),
            "odd": _rate(odd, name),
            "right_page": _rate(rows, f"{name}_page"),
            "median_s": _median([r[f"{name}_s"] for r in rows]),
        }
    return summary


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def _print_summary(summary: dict[str, Any]) -> None:
    print("\n== evidence ==")
    for key, value in summary.items():
        if isinstance(value, dict):
            print(
                f"{key:<20} all {value['all']:<13} even {value['even']:<13} odd {value['odd']:<13}"
                f" page {value['right_page']:<13} {value['median_s'] or '-'} s"
            )
        else:
            print(f"{key:<18} {value}")
