"""Follow-up benchmark: second turns of mixed conversations over the R manuals.

Usage:
    python -m scripts.bench_followups --docs bench-data/rdev-docs \
        --index bench-data/followups-index --label after [--model-rewrite] \
        [--out bench-results/followups-after.json]

Each conversation of tests/data/rdev/conversations.jsonl is a first turn (a dev-set question,
asked alone, its answer kept as the assistant's turn) and a second turn of one of three kinds:
a follow-up that needs the first turn ("And with valgrind?"), a new answerable question on
another topic, or an out-of-scope question (new, or a follow-up such as "And in Kotlin?").
Every second turn goes through ``assistant.events(question, history)`` in the evidence style
(sources and quoted evidence; the answer's model is not run), so the same script measures the
code before and after the follow-up work (run from outside both trees with
``PYTHONPATH=<old tree>:<this checkout>``: the old tree's package wins).

Measured for each second turn: a right page among the sources, the key fact in the evidence,
refusal, the text searched (``Answer.standalone_question``) and the time to the sources. The
same questions asked alone (the follow-up's ``standalone`` wording, the others as they are)
are the reference: second turns should lose nothing against them.

``--model-rewrite`` lets the bundled model rewrite follow-ups (validated) where the code has
that setting; the flow then runs with a model style, stopping at the sources.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import gpt4all_rag
from gpt4all_rag import DocumentAssistant, Settings
from scripts._common import ROOT, disable_llama_extra_buffers, write_result
from scripts.answer_reading import evidence_text
from scripts.devset_common import Question, contains_facts, load_devset, page_matches

CONVERSATIONS = ROOT / "tests/data/rdev/conversations.jsonl"
GROUPS = ("follow", "new", "off")


def load_conversations(path: Path = CONVERSATIONS) -> list[dict[str, Any]]:
    """The JSON-lines conversations."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def as_question(row: dict[str, Any], text: str) -> Question:
    """A conversation's second turn as a dev-set question (for the page and fact matchers)."""
    facts = tuple(tuple(group) for group in row.get("facts", ()))
    return Question(
        row["id"], text, row["kind"], row.get("file", ""), tuple(row.get("pages", ())), facts
    )


def turn(assistant: Any, text: str, history: list[dict[str, str]], stop: bool) -> dict[str, Any]:
    """Ask one turn; the sources, the evidence and what was searched.

    ``stop``: end at the first token of the model's answer (the evidence has come by then).
    """
    started = time.perf_counter()
    sources_s = None
    answer = None
    sources: tuple[Any, ...] = ()
    evidence: list[Any] = []
    for event in assistant.events(text, history=history):
        kind = type(event).__name__
        if kind == "SourcesEvent":
            sources_s = time.perf_counter() - started
            sources = tuple(event.sources)
        elif kind == "EvidenceEvent":
            evidence = list(event.evidence)
        elif kind == "TokenEvent" and stop:
            break
        elif hasattr(event, "standalone_question"):
            answer = event
    planned = getattr(assistant.flow, "planned", [])
    searched = answer.standalone_question if answer else (planned[-1] if planned else None)
    return {
        "sources": sources,
        "evidence": evidence_text(evidence),
        "text": answer.text if answer else None,
        "searched": searched,
        "sources_s": sources_s,
    }


def score(row: dict[str, Any], text: str, result: dict[str, Any]) -> dict[str, Any]:
    """Right page among the sources, key fact in the evidence, refusal."""
    q = as_question(row, text)
    found = bool(result["sources"])
    scored: dict[str, Any] = {
        "found": found,
        "sources": [f"{s.file}:{s.page}" for s in result["sources"]],
    }
    if q.answerable:
        scored["right_page"] = any(page_matches(q, s.file, s.page) for s in result["sources"])
        scored["fact_in_evidence"] = bool(contains_facts(q.facts, result["evidence"]))
    return scored


def first_turns(
    assistant: Any, rows: list[dict[str, Any]], devset: dict[str, Question]
) -> dict[str, list[dict[str, str]]]:
    """Each first turn asked alone, as the history its second turns are asked after.

    Asked in the evidence style whatever the run's style (its quotes are the assistant's
    turn), so that every run's second turns follow the same history.
    """
    history: dict[str, list[dict[str, str]]] = {}
    config = assistant.flow.config
    assistant.flow.config = dataclasses.replace(config, generate=False)
    for after in dict.fromkeys(r["after"] for r in rows):
        question = devset[after].question
        answer = turn(assistant, question, [], stop=False)
        history[after] = [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer["text"] or ""},
        ]
    assistant.flow.config = config
    return history


def measure(
    assistant: Any, row: dict[str, Any], history: list[dict[str, str]], model: bool
) -> dict[str, Any]:
    """One conversation: its second turn after the first, and the same question alone."""
    second = turn(assistant, row["question"], history, stop=model)
    alone_text = row.get("standalone", row["question"])
    alone = turn(assistant, alone_text, [], stop=model)
    return {
        "id": row["id"],
        "group": row["id"].split("-")[0],
        "question": row["question"],
        "searched": second["searched"],
        "sources_s": None if second["sources_s"] is None else round(second["sources_s"], 3),
        "second": score(row, row["question"], second),
        "alone": score(row, alone_text, alone),
    }


def _rate(rows: list[dict[str, Any]], side: str, key: str, invert: bool = False) -> dict[str, Any]:
    values = [bool(r[side][key]) != invert for r in rows]
    return {"n": sum(values), "of": len(values)}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per group: right page and key fact (answerable), refusals, second turn against alone."""
    summary: dict[str, Any] = {}
    for group in GROUPS:
        items = [r for r in rows if r["group"] == group]
        if not items:
            continue
        figures: dict[str, Any] = {}
        for side in ("second", "alone"):
            if group == "off":
                figures[f"{side}_refused"] = _rate(items, side, "found", invert=True)
            else:
                figures[f"{side}_right_page"] = _rate(items, side, "right_page")
                figures[f"{side}_fact_in_evidence"] = _rate(items, side, "fact_in_evidence")
                figures[f"{side}_refused"] = _rate(items, side, "found", invert=True)
        times = [r["sources_s"] for r in items if r["sources_s"] is not None]
        figures["median_sources_s"] = round(statistics.median(times), 3) if times else None
        summary[group] = figures
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, required=True, help="folder of the three manuals")
    parser.add_argument("--index", type=Path, required=True, help="index folder (reused)")
    parser.add_argument("--label", default="run", help="a name for this run in the JSON")
    parser.add_argument("--model-rewrite", action="store_true", help="let the model rewrite")
    parser.add_argument(
        "--typed-only", action="store_true", help="search a follow-up as typed, nothing added"
    )
    parser.add_argument("--ids", default="", help="comma-separated conversation ids only")
    parser.add_argument("--out", type=Path, default=Path("bench-results/followups.json"))
    return parser.parse_args()


def record_plans(flow: Any, typed_only: bool) -> None:
    """Keep what the flow plans to search (its ``plan`` step, where the code has one).

    ``typed_only``: drop the plan's rewrite, so a follow-up is searched as typed alone
    (the "not at all" variant of the follow-up levers).
    """
    plan = getattr(flow, "plan", None)
    if plan is None:
        return
    flow.planned = []

    def recorded(question: Any) -> Any:
        made = plan(question)
        if typed_only:
            made = dataclasses.replace(made, rewrite=None, kind="none")
        flow.planned.append(made.standalone)
        return made

    flow.plan = recorded


def build(args: argparse.Namespace) -> tuple[DocumentAssistant, dict[str, Any]]:
    """The assistant over the manuals, ingested, in the evidence style (or with the model)."""
    disable_llama_extra_buffers()
    extra: dict[str, Any] = {"answer_style": "evidence"}
    if args.model_rewrite:
        extra = {"answer_style": "both", "rewrite_follow_ups_with_model": True}
    settings = Settings(documents_dir=args.docs, index_dir=args.index, **extra)
    assistant = DocumentAssistant.from_settings(settings)
    assistant.ingest()
    record_plans(assistant.flow, args.typed_only)
    meta = {
        "label": args.label,
        "code": str(Path(gpt4all_rag.__file__).resolve().parent),
        "answer_style": settings.answer_style,
        "model_rewrite": args.model_rewrite,
        "typed_only": args.typed_only,
        "chunks": assistant.status().chunks,
    }
    return assistant, meta


def main() -> int:
    args = parse_args()
    rows_in = load_conversations()
    wanted = {i.strip() for i in args.ids.split(",") if i.strip()}
    rows_in = [r for r in rows_in if not wanted or r["id"] in wanted]
    devset = {q.id: q for q in load_devset()}
    assistant, meta = build(args)
    history = first_turns(assistant, rows_in, devset)
    rows = []
    for row in rows_in:
        rows.append(measure(assistant, row, history[row["after"]], args.model_rewrite))
        r = rows[-1]
        print(
            f"{r['id']:<10} page={r['second'].get('right_page', '-')!s:<5} "
            f"alone={r['alone'].get('right_page', '-')!s:<5} found={r['second']['found']!s:<5} "
            f"searched={r['searched']!r}",
            flush=True,
        )
    result = {"meta": meta, "summary": summarize(rows), "conversations": rows}
    write_result(args.out, "bench_followups", result, indent=1)
    print(json.dumps(result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
