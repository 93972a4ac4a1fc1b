"""Collect the bundled model's own answer sentences on the R-manual dev set, for labelling.

Usage:
    python -m scripts.label_grounding --docs bench-data/rdev-docs \
        --index bench-data/grounding-index --out bench-results/grounding-candidates.jsonl

Asks every answerable question of tests/data/rdev/questions.jsonl through
``DocumentAssistant.ask`` with the default settings (the bundled SmolLM2-135M, answer
style ``both``), and writes one JSON line per answer: the question, the sources (number,
file, page, text) and each sentence the model wrote with its cited markers, its support
score and whether today's check flags it. ``label`` is left null; a person fills it in
by reading each sentence against its sources (``correct``, ``wrong`` or ``not_a_claim``)
and the result is committed as tests/data/rdev/grounding_labels.jsonl
(``python -m scripts.calibrate_grounding --labels`` measures the check on it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gpt4all_rag import DocumentAssistant, Settings
from scripts.devset_common import DEVSET, load_devset


def answer_row(assistant: DocumentAssistant, qid: str, question: str) -> dict[str, Any]:
    """One answer: its sources and its sentences as today's check sees them."""
    answer = assistant.ask(question)
    return {
        "id": qid,
        "question": question,
        "answer": answer.text,
        "sources": [
            {"number": s.number, "file": s.file, "page": s.page, "text": s.text}
            for s in answer.sources
        ],
        "sentences": [
            {
                "text": s.text,
                "cited": list(s.cited),
                "inferred": s.inferred,
                "support": round(float(s.support), 4),
                "claim": s.claim,
                "flagged": not s.supported,
                "label": None,
            }
            for s in answer.sentences
        ],
    }


def follow_ups() -> list[tuple[str, str]]:
    """The answerable follow-ups of the mixed conversations, in their standalone wording."""
    path = DEVSET.parent / "conversations.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(r["id"], r["standalone"]) for r in rows if r["id"].startswith("follow-")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=Path("bench-data/rdev-docs"))
    parser.add_argument("--index", type=Path, default=Path("bench-data/grounding-index"))
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results/grounding-candidates.jsonl")
    )
    parser.add_argument("--ids", default="", help="comma-separated question ids (default: all)")
    parser.add_argument(
        "--follow-ups",
        action="store_true",
        help="ask the standalone wordings of conversations.jsonl's follow-ups instead",
    )
    args = parser.parse_args()
    settings = Settings(documents_dir=args.docs, index_dir=args.index, answer_style="both")
    assistant = DocumentAssistant.from_settings(settings)
    assistant.ingest()
    wanted = set(filter(None, args.ids.split(",")))
    devset = [(q.id, q.question) for q in load_devset() if q.answerable]
    asked = follow_ups() if args.follow_ups else devset
    questions = [(qid, text) for qid, text in asked if not wanted or qid in wanted]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for qid, text in questions:
            row = answer_row(assistant, qid, text)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            print(qid, len(row["sentences"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
