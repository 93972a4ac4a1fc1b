"""The evidence benchmark (``bench_answers.py --evidence-only``): retrieval and evidence, no model.

Each dev-set question is retrieved once, through the product's own flow (the same
search, fusion and abstention as ``ask``); then every variant of the evidence picks
its sentences from the same sources, with a fresh embedding cache each, so that its
time is what the evidence step would cost in an answer. A variant is the product's
evidence with one lever switched (``VARIANTS``): the gain of each lever is read
against ``before`` measured in the same run. Questions are split by the parity of
their number (``exts-02`` even): tune on the even ones, check on the odd ones. For
the first variant listed, each miss whose key fact was in the passages read is
printed with the candidate that holds it, its score and its rank (saved for all).
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
from gpt4all_rag.trust.evidence import Evidence, ranked_sentences, select_evidence
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
# Round one's measured best: AFTER without round two's next-sentence rule.
ROUND1 = AFTER.but(next_names=0, next_words=None, next_plain=False)
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
    "after": Variant(ROUND1.but(max_sentences=3)),  # round one's default: 3 quotes at most
    "after+no_cap": Variant(ROUND1.but(max_sentences=None)),
    "after+heading": Variant(ROUND1.but(after_heading=True, max_sentences=None)),
    "after+ids": Variant(ROUND1.but(identifiers=True, names=True, max_sentences=None)),
    "after+window2": Variant(ROUND1.but(window=2, max_sentences=None)),
    "after_all_sources": Variant(ROUND1.but(max_sentences=None), all_sources=True),
    # Round two, each lever on round one's measured best (no cap on sentences, 80 words).
    "round1": Variant(ROUND1),
    "+next_best": Variant(ROUND1.but(next_names=1)),
    "+next_all": Variant(ROUND1.but(next_names=99)),
    "+next_best_cut30": Variant(ROUND1.but(next_names=1, next_words=30)),
    "+next_best_plain": Variant(ROUND1.but(next_names=1, next_plain=True)),
    "+next_best_plain_cut30": Variant(ROUND1.but(next_names=1, next_plain=True, next_words=30)),
    "+next_top2_plain": Variant(ROUND1.but(next_names=2, next_plain=True)),
    "+next_top2_plain_cut30": Variant(ROUND1.but(next_names=2, next_plain=True, next_words=30)),
    "+next_all_plain_cut30": Variant(ROUND1.but(next_names=99, next_plain=True, next_words=30)),
    "+name_rescore": Variant(ROUND1.but(name_rescore=True)),
    "+name_rescore.2": Variant(ROUND1.but(name_rescore=True, identifier_weight=0.2)),
    "+hyphens": Variant(ROUND1.but(hyphens=True)),
    "+no_tables": Variant(ROUND1.but(skip_tables=True)),
    "+long.02": Variant(ROUND1.but(length_penalty=0.02)),
    "+long.05": Variant(ROUND1.but(length_penalty=0.05)),
    "+words100": Variant(ROUND1, max_words=100),
    # The default now (round one's best + the next sentence naming what the quote does not).
    "default": Variant(AFTER),
    "default+no_tables": Variant(AFTER.but(skip_tables=True)),
    "default+long.02": Variant(AFTER.but(length_penalty=0.02)),
    "default+name_rescore": Variant(AFTER.but(name_rescore=True)),
    "default+words100": Variant(AFTER, max_words=100),
    "default+cut_long30": Variant(AFTER.but(cut_long=30)),
    "default+cut_long40": Variant(AFTER.but(cut_long=40)),
    "default+cut_long30+no_tables": Variant(AFTER.but(cut_long=30, skip_tables=True)),
}


# Timed with a fresh embedding cache each (what one answer costs); the others share one
# cache per question, as the machine these figures come from is shared and loaded.
TIMED = ("before", "after", "round1", "default")


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
            if not row[name] and row["fact_in_read"]:
                ranked = ranked_sentences(retrieval.standalone, sources, shared, variant.rules)
                row[f"{name}_miss"] = _miss(q, ranked)
        rows.append(row)
        marks = "".join("y" if row[n] else "." for n in names)
        print(f"{q.id:<9} src={'y' if row['fact_in_sources'] else '.'} {marks}", flush=True)
    summary = _summary(rows, names)
    _print_misses(questions, rows, names[0])
    _print_summary(summary)
    write_result(args.out, "bench_evidence", {"summary": summary, "questions": rows}, indent=1)
    print(f"saved {args.out}")
    return 0


def _miss(q: Question, ranked: list[Evidence]) -> dict[str, Any]:
    """Where the key fact sits among a missing variant's candidates: its quote, score and rank."""
    holding = [(i, e) for i, e in enumerate(ranked, start=1) if contains_facts(q.facts, e.text)]
    miss: dict[str, Any] = {"best_score": round(ranked[0].score, 3) if ranked else None}
    if holding:
        rank, found = holding[0]
        miss.update(fact_text=found.text, fact_score=round(found.score, 3), fact_rank=rank)
    return miss


def _print_misses(questions: list[Question], rows: list[dict[str, Any]], name: str) -> None:
    """The misses of one variant whose key fact was in the passages read: what to work on."""
    by_id = {q.id: q for q in questions}
    print(f"\n== misses of {name} (key fact in the passages read) ==")
    for row in rows:
        miss = row.get(f"{name}_miss")
        if miss is None:
            continue
        q = by_id[row["id"]]
        print(f"{q.id}: {q.question}\n  fact: {q.facts}")
        for text in row[f"{name}_text"]:
            print(f"  quoted: {text}")
        print(
            f"  holds it: {miss.get('fact_text', '(no single candidate)')}"
            f" score {miss.get('fact_score')} rank {miss.get('fact_rank')}"
            f" (best {miss['best_score']})"
        )


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
