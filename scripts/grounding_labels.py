"""The grounding check on the bundled model's own sentences, labelled by hand (issue 25 item 2).

``tests/data/rdev/grounding_labels.jsonl`` (made with scripts/label_grounding.py): each
answer sentence is ``correct``, ``wrong`` or ``not_a_claim``. Every answer is rescored
with each lever of the check alone and combined, and at several thresholds; the figures
are given on all questions, on the tuning half and on the held-out half.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from gpt4all_rag import Settings
from gpt4all_rag.answer import Source
from gpt4all_rag.index.embedders import build_embedder
from gpt4all_rag.trust.embedding import CachedEmbedder
from gpt4all_rag.trust.grounding import SCORE_ONLY, SUPPORT_THRESHOLD, CheckRules, attribute
from gpt4all_rag.trust.text import strip_markers
from scripts._common import ROOT, write_result

__all__ = ["LABELS", "answer_figures", "label_figures", "measure_labels", "rescored"]

LABELS = ROOT / "tests/data/rdev/grounding_labels.jsonl"
_LEVERS: dict[str, CheckRules] = {
    "score only (before)": SCORE_ONLY,
    "+ exact terms (cited)": replace(SCORE_ONLY, exact_terms=True, terms_in="cited"),
    "+ exact terms (any source)": replace(SCORE_ONLY, exact_terms=True, terms_in="any"),
    "+ repetition": replace(SCORE_ONLY, repetition=True),
    "+ negation": replace(SCORE_ONLY, negation=True),
    "+ lead-ins": replace(SCORE_ONLY, lead_ins=True),
    "exact terms + repetition + lead-ins": CheckRules(),
    "all rules": CheckRules(negation=True),
}


def rescored(
    rows: list[dict[str, Any]], embedder: Any, rules: CheckRules, threshold: float
) -> list[tuple[str, str, bool]]:
    """Each labelled sentence's verdict under ``rules``: (question id, label, flagged)."""
    verdicts: list[tuple[str, str, bool]] = []
    for row in rows:
        sources = [
            Source(s["number"], s["file"], s["page"], s["text"], 0.0, 0.0) for s in row["sources"]
        ]
        checked = attribute(row["answer"], sources, embedder, threshold=threshold, rules=rules)
        if [_plain(c.text) for c in checked] != [_plain(s["text"]) for s in row["sentences"]]:
            raise RuntimeError(f"{row['id']}: the sentences no longer split as labelled")
        verdicts += [
            (row["id"], s["label"], not c.supported)
            for s, c in zip(row["sentences"], checked, strict=True)
        ]
    return verdicts


def _plain(sentence: str) -> str:
    """A sentence without its markers and their spaces (the Answer's text has them moved)."""
    return re.sub(r"\s+([.,:;!?])", r"\1", " ".join(strip_markers(sentence).split()))


def label_figures(verdicts: list[tuple[str, str, bool]]) -> dict[str, Any]:
    """Claims shown as supported and how many are right; wrong ones and how many flagged."""
    shown = [label for _, label, flagged in verdicts if label != "not_a_claim" and not flagged]
    wrong = [flagged for _, label, flagged in verdicts if label == "wrong"]
    noise = [flagged for _, label, flagged in verdicts if label == "not_a_claim"]
    correct = [flagged for _, label, flagged in verdicts if label == "correct"]
    return {
        "shown_supported": len(shown),
        "shown_correct": shown.count("correct"),
        "precision": round(shown.count("correct") / len(shown), 3) if shown else None,
        "wrong": len(wrong),
        "wrong_flagged": sum(wrong),
        "recall": round(sum(wrong) / len(wrong), 3) if wrong else None,
        "correct_flagged": sum(correct),
        "not_a_claim_flagged": sum(noise),
    }


def answer_figures(verdicts: list[tuple[str, str, bool]]) -> dict[str, int]:
    """Per answer: with a wrong claim and shown as a draft; all claims right and shown plain."""
    answers: dict[str, list[tuple[str, bool]]] = {}
    for question_id, label, flagged in verdicts:
        answers.setdefault(question_id, []).append((label, flagged))
    claims = {q: [(lab, f) for lab, f in v if lab != "not_a_claim"] for q, v in answers.items()}
    wrong = [v for v in claims.values() if any(lab == "wrong" for lab, _ in v)]
    right = [v for v in claims.values() if v and all(lab == "correct" for lab, _ in v)]
    return {
        "with_a_wrong_claim": len(wrong),
        "of_them_drafts": sum(any(f for _, f in v) for v in wrong),
        "all_claims_right": len(right),
        "of_them_shown_plain": sum(not any(f for _, f in v) for v in right),
    }


def measure_labels(path: Path, out: Path) -> None:
    """The check's figures on the labelled sentences, each lever alone and combined, per half."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    ids = sorted({r["id"] for r in rows})
    tune = set(ids[0::2])  # tune on every other question id, report the rest too
    embedder = CachedEmbedder(build_embedder(Settings()))
    result: dict[str, Any] = {}
    for name, rules in _LEVERS.items():
        verdicts = rescored(rows, embedder, rules, SUPPORT_THRESHOLD)
        halves = {
            "all": verdicts,
            "tune": [v for v in verdicts if v[0] in tune],
            "held_out": [v for v in verdicts if v[0] not in tune],
        }
        result[name] = {half: label_figures(mine) for half, mine in halves.items()}
        cells = "  ".join(
            f"{h}: P {f['shown_correct']}/{f['shown_supported']} "
            f"R {f['wrong_flagged']}/{f['wrong']}"
            for h, f in result[name].items()
        )
        print(f"{name:38} {cells}", flush=True)
    for threshold in (0.75, 0.8, 0.85, 0.9, 0.95, 1.05):
        verdicts = rescored(rows, embedder, CheckRules(), threshold)
        figures = {
            "all": label_figures(verdicts),
            "tune": label_figures([v for v in verdicts if v[0] in tune]),
            "held_out": label_figures([v for v in verdicts if v[0] not in tune]),
            "answers": answer_figures(verdicts),
        }
        result[f"rules, threshold {threshold}"] = figures
        print(f"rules, threshold {threshold:.2f}: {json.dumps(figures)}", flush=True)
    write_result(out, "calibrate_grounding --labels", result, indent=1)
    print(f"saved {out}")
