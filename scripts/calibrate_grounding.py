"""Calibrate the grounding check (and measure the evidence) on the R-manual dev set.

Usage:
    python -m scripts.calibrate_grounding [--docs bench-data/rdev-docs]
        [--index bench-data/rdev-index] [--other bench-data/r-4]
        [--out bench-results/calibrate_grounding.json]

For every dev-set question, the top 4 passages come from the real index (hybrid
search, bundled MiniLM), as an answer would get them. Sentences are then scored
for support by those passages (``gpt4all_rag.trust.grounding``):

- positives, true of the sources: a source sentence as written (``verbatim``); a
  source sentence compressed as a model would (parentheses and lead-ins dropped,
  first clause kept, a few words swapped for synonyms: ``paraphrase``); the same
  for the source sentence that holds the key fact (``key_fact``); a right answer
  in a model's words, written by hand for 31 questions (``answer``).
- negatives, not in the sources: a sentence from another R manual (R-admin,
  R-intro, R-data, R-FAQ: ``other_manual``); the key-fact sentence with its
  identifiers or numbers changed (``altered``); a plausible invented answer to
  each out-of-scope question, over the passages retrieved for it (``invented``);
  a wrong answer on the right topic, by hand, for the same 31 (``wrong_answer``).

It prints the flagging precision and recall (a negative flagged is a hit, a
positive flagged a false alarm) for several overlap weights, the best-F1
threshold on the even questions checked on the odd ones, then the choice: the
weight and threshold that flag the most negatives while flagging at most 5% of
each kind of true sentence, with its figures on all questions and each half. It
saves everything as JSON (``--rescore FILE`` chooses again from that file).
It also measures the evidence: key fact in the evidence, evidence from a right
page, and the time select_evidence takes. The sentences are made in grounding_cases.py;
``--labels`` runs grounding_labels.py (the check on the model's own labelled sentences).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from gpt4all_rag import DocumentAssistant, Settings
from gpt4all_rag.answer import Source
from gpt4all_rag.trust.embedding import CachedEmbedder
from gpt4all_rag.trust.evidence import select_evidence
from gpt4all_rag.trust.grounding import similarity_and_overlap
from scripts._common import ROOT, read_result, write_result
from scripts.devset_common import Question, contains_facts, load_devset, page_matches
from scripts.grounding_cases import Case, build_cases, other_manual_sentences, vocabulary
from scripts.grounding_labels import LABELS, measure_labels

_THRESHOLDS = [round(t, 2) for t in np.arange(0.3, 1.61, 0.05)]
_WEIGHTS = [0.0, 0.25, 0.5, 0.75, 1.0]
POSITIVE_KINDS = ("verbatim", "paraphrase", "key_fact", "answer")
MAX_FALSE_ALARMS = 0.05


def open_assistant(docs: Path, index: Path) -> DocumentAssistant:
    settings = Settings(documents_dir=docs, index_dir=index)
    assistant = DocumentAssistant.from_settings(settings)
    if not assistant.documents():
        assistant.ingest()
    return assistant


def sources_for(assistant: DocumentAssistant, question: str) -> list[Source]:
    return list(assistant.search(question, k=4))  # numbered [1]..[4], best first


def features(
    cases: list[Case], sources: dict[str, list[Source]], embedder: Any, pairs: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Best similarity and the overlap of the best-similarity-plus-overlap source, per weight."""
    sims, overlaps = [], []
    for case in cases:
        similarity, overlap = similarity_and_overlap(
            [case.sentence], sources[case.question], embedder, pairs=pairs
        )
        sims.append(similarity[0])
        overlaps.append(overlap[0])
    return np.asarray(sims, dtype=object), np.asarray(overlaps, dtype=object)


def support(sims: np.ndarray, overlaps: np.ndarray, weight: float) -> np.ndarray:
    return np.asarray([float(np.max(s + weight * o)) for s, o in zip(sims, overlaps, strict=True)])


def table(
    cases: list[Case], scores: np.ndarray, half: int | None, thresholds: list[float] | None = None
) -> list[dict[str, Any]]:
    """Flagging precision/recall, and the share flagged of each kind, by threshold."""
    keep = [i for i, c in enumerate(cases) if half is None or c.half == half]
    rows = []
    for threshold in thresholds or _THRESHOLDS:
        flagged = [i for i in keep if scores[i] < threshold]
        negatives = [i for i in keep if not cases[i].positive]
        hits = sum(1 for i in flagged if not cases[i].positive)
        row: dict[str, Any] = {
            "threshold": threshold,
            "precision": round(hits / len(flagged), 3) if flagged else 1.0,
            "recall": round(hits / len(negatives), 3) if negatives else 0.0,
        }
        for kind in sorted({cases[i].kind for i in keep}):
            mine = [i for i in keep if cases[i].kind == kind]
            row[kind] = round(sum(1 for i in mine if scores[i] < threshold) / len(mine), 3)
        rows.append(row)
    return rows


def f1(row: dict[str, Any]) -> float:
    p, r = row["precision"], row["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


def evidence_figures(
    questions: list[Question], sources: dict[str, list[Source]], embedder: Any
) -> dict[str, Any]:
    answerable = [q for q in questions if q.answerable]
    fact_hits = page_hits = fact_in_sources = 0
    times = []
    for question in answerable:
        mine = sources[question.id]
        start = time.perf_counter()
        evidence = select_evidence(question.question, mine, embedder)
        times.append((time.perf_counter() - start) * 1000)
        text = " ".join(e.text for e in evidence)
        fact_hits += bool(contains_facts(question.facts, text))
        page_hits += any(page_matches(question, e.file, e.page) for e in evidence)
        fact_in_sources += bool(contains_facts(question.facts, " ".join(s.text for s in mine)))
    return {
        "questions": len(answerable),
        "key_fact_in_sources": fact_in_sources,
        "key_fact_in_evidence": fact_hits,
        "evidence_from_right_page": page_hits,
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(sorted(times)[int(0.9 * len(times))], 1),
    }


def choose(configs: list[dict[str, Any]]) -> tuple[float, float]:
    """The weight and threshold that flag the most negatives while flagging at most
    ``MAX_FALSE_ALARMS`` of each kind of true sentence (a false flag costs trust too)."""
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    for config in configs:
        for row in config["all"]:
            alarms = max(row[kind] for kind in POSITIVE_KINDS if kind in row)
            if alarms <= MAX_FALSE_ALARMS and row["recall"] > best[0]:
                best = (row["recall"], config["overlap_weight"], row["threshold"])
    return best[1], best[2]


def print_chosen(cases: list[Case], config: dict[str, Any], threshold: float) -> None:
    """The chosen configuration: figures on all questions and each half, score spread."""
    print(f"chosen: overlap_weight={config['overlap_weight']} threshold={threshold}")
    scores = np.asarray(config["scores"])
    for name, half in (("all", None), ("even", 0), ("odd", 1)):
        print(f"  {name:4}", json.dumps(table(cases, scores, half, [threshold])[0]))
    for kind in sorted({c.kind for c in cases}):
        mine = sorted(float(scores[i]) for i, c in enumerate(cases) if c.kind == kind)
        p10, p50, p90 = (mine[int(q * (len(mine) - 1))] for q in (0.1, 0.5, 0.9))
        print(f"  {kind:13} n={len(mine):3}  p10 {p10:.2f}  median {p50:.2f}  p90 {p90:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "bench-data/rdev-docs")
    parser.add_argument("--index", type=Path, default=ROOT / "bench-data/rdev-index")
    parser.add_argument("--other", type=Path, default=ROOT / "bench-data/r-4")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results/calibrate_grounding.json")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--pairs", action="store_true", help="also try sentence pairs as units")
    parser.add_argument(
        "--rescore", type=Path, help="choose again from a saved JSON, without any model"
    )
    parser.add_argument(
        "--labels",
        type=Path,
        nargs="?",
        const=LABELS,
        help="measure the check on the labelled model sentences instead (default file: "
        "tests/data/rdev/grounding_labels.jsonl)",
    )
    args = parser.parse_args()
    if args.labels:
        measure_labels(args.labels, args.out.with_name("grounding_labels.json"))
        return
    if args.rescore:
        saved = read_result(args.rescore)
        finish(saved, [Case(**c) for c in saved["cases"]], args.out)
        return

    rng = random.Random(args.seed)
    questions = load_devset()
    assistant = open_assistant(args.docs, args.index)
    embedder = CachedEmbedder(assistant.embedder)  # each source sentence embedded once
    sources = {q.id: sources_for(assistant, q.question) for q in questions}
    others = other_manual_sentences(args.other)

    result: dict[str, Any] = {"evidence": evidence_figures(questions, sources, assistant.embedder)}
    print("evidence:", json.dumps(result["evidence"]))

    cases = build_cases(questions, sources, others, vocabulary(others), rng)
    counts = {k: sum(1 for c in cases if c.kind == k) for k in sorted({c.kind for c in cases})}
    print("cases:", json.dumps(counts))
    result["cases"] = [c.__dict__ for c in cases]
    result["configs"] = []
    for pairs in (False, True) if args.pairs else (False,):
        sims, overlaps = features(cases, sources, embedder, pairs)
        for weight in _WEIGHTS:
            scores = support(sims, overlaps, weight)
            halves = {name: table(cases, scores, h) for name, h in (("even", 0), ("odd", 1))}
            best = max(halves["even"], key=f1)
            check = next(r for r in halves["odd"] if r["threshold"] == best["threshold"])
            config = {
                "pairs": pairs,
                "overlap_weight": weight,
                "best_on_even": best,
                "same_threshold_on_odd": check,
                "all": table(cases, scores, None),
                "scores": [round(float(s), 4) for s in scores],
            }
            result["configs"].append(config)
            print(
                f"pairs={pairs!s:5} w={weight:.2f}  threshold {best['threshold']:.2f}: "
                f"even P {best['precision']:.3f} R {best['recall']:.3f} F1 {f1(best):.3f} | "
                f"odd P {check['precision']:.3f} R {check['recall']:.3f} F1 {f1(check):.3f}"
            )
    finish(result, cases, args.out)


def finish(result: dict[str, Any], cases: list[Case], out: Path) -> None:
    """Choose the weight and threshold, print them with their figures, save everything."""
    weight, threshold = choose(result["configs"])
    config = next(c for c in result["configs"] if c["overlap_weight"] == weight)
    print_chosen(cases, config, threshold)
    scores = np.asarray(config["scores"])
    result["chosen"] = {
        "overlap_weight": weight,
        "threshold": threshold,
        "all": table(cases, scores, None, [threshold])[0],
        "even": table(cases, scores, 0, [threshold])[0],
        "odd": table(cases, scores, 1, [threshold])[0],
    }
    write_result(out, "calibrate_grounding", result, indent=1)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
