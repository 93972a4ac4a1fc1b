"""Answer benchmark: the R-manual dev set through DocumentAssistant, in one process.

Usage:
    python -m scripts.bench_answers --docs bench-data/rdev-docs --index bench-data/rdev-index \
        [--limit N] [--ids exts-01,oos-03] [--out bench-results/answers.json]
    python -m scripts.bench_answers --docs ... --index ... --evidence-only [--levers a,b]
        (no model: the key fact in the evidence for each lever; scripts/bench_evidence.py)

Ingests the folder (incremental: a second run reuses the index), loads the model once,
then asks every question of tests/data/rdev/questions.jsonl through ``assistant.stream()``
(or the typed ``assistant.events()`` where the API has it), timing the first token, the
first evidence and the end. Prints one row a question and a summary, and saves both as
JSON after every question (a run cut short keeps what it measured).

Measured, for answerable questions: a right page among the sources; a right page cited
(an ``[n]`` the answer uses points to a source on a right page); the key fact in the
answer; the key fact in the evidence and evidence from a right page (where ``Answer``
has ``evidence``); false abstention (``found`` False). For out-of-scope questions:
abstention. For all: answers with a repeated sentence (see ``repeated_sentence``),
unsupported sentences (where ``Answer`` has ``sentences``), and the median times.

Written against the public API with fallbacks, so that it runs on the code before and
after the evidence/attribution work: every newer attribute is read with ``getattr`` and
reported as null where the code does not have it (scripts/answer_reading.py). Settings
other than the two folders come from GPT4ALL_RAG_* variables (e.g.
GPT4ALL_RAG_ANSWER_STYLE=both). To measure another checkout's code, run from outside both
trees with that checkout first: ``PYTHONPATH=<other>:<this checkout> python -m ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gpt4all_rag
from gpt4all_rag import DocumentAssistant, Settings
from scripts._common import disable_llama_extra_buffers, write_result
from scripts.answer_reading import (
    evidence_of,
    field_of,
    is_answer,
    repeated_sentence,
    score_answerable,
    sentence_support,
)
from scripts.devset_common import DEVSET, Question, load_devset


# --- one question ------------------------------------------------------------------
@dataclass
class Timing:
    """When things arrived, in seconds from the call."""

    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    first_evidence: float | None = None
    evidence_from: str | None = None
    done: float | None = None

    def now(self) -> float:
        return time.perf_counter() - self.started


def _event_kind(event: Any) -> str:
    """Classify an event of a typed stream by its type name or a ``kind``/``type`` field."""
    name = str(field_of(event, "kind") or field_of(event, "type") or type(event).__name__).lower()
    for kind in ("evidence", "token", "answer", "sources", "retrieved"):
        if kind in name:
            return kind
    return name


def consume(items: Iterable[Any], timing: Timing) -> Any:
    """Run a stream or event stream to its end; note the times; return the Answer."""
    answer = None
    for item in items:
        if isinstance(item, str):
            if item.strip() and timing.first_token is None:
                timing.first_token = timing.now()
            continue
        if is_answer(item):
            answer = item
            continue
        kind = _event_kind(item)
        text = str(field_of(item, "text", ""))
        if kind == "token" and timing.first_token is None and text.strip():
            timing.first_token = timing.now()
        elif kind == "evidence" and timing.first_evidence is None:
            timing.first_evidence, timing.evidence_from = timing.now(), "event"
        elif kind == "answer" and is_answer(field_of(item, "answer")):
            answer = field_of(item, "answer")
    timing.done = timing.now()
    return answer


def question_stream(assistant: DocumentAssistant, text: str, use_events: bool) -> Iterator[Any]:
    if use_events:
        return iter(assistant.events(text))  # type: ignore[attr-defined]
    return iter(assistant.stream(text))


def measure(assistant: DocumentAssistant, q: Question, use_events: bool) -> dict[str, Any]:
    """Ask one question and score the answer."""
    timing = Timing()
    answer = consume(question_stream(assistant, q.question, use_events), timing)
    if answer is None:
        raise RuntimeError("the stream ended without an Answer")
    evidence = evidence_of(answer)
    if evidence and timing.first_evidence is None:
        timing.first_evidence, timing.evidence_from = timing.done, "answer"
    row: dict[str, Any] = {
        "id": q.id,
        "kind": q.kind,
        "question": q.question,
        "found": bool(getattr(answer, "found", True)),
        "text": answer.text,
        "cited": list(answer.cited),
        "sources": [f"{s.file}:{s.page}" for s in answer.sources],
        "evidence": None
        if evidence is None
        else [
            {
                "text": str(field_of(e, "text", "")),
                "source": field_of(e, "source", field_of(e, "number")),
            }
            for e in evidence
        ],
        "repeated": repeated_sentence(answer.text),
        "ttft_s": _round(timing.first_token),
        "evidence_s": _round(timing.first_evidence),
        "evidence_from": timing.evidence_from,
        "total_s": _round(timing.done),
        **sentence_support(answer),
    }
    if q.answerable:
        row.update(score_answerable(q, answer, evidence))
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- summary ---------------------------------------------------------------------
def _count(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    if not values:
        return None
    hits = sum(bool(v) for v in values)
    return {"n": hits, "of": len(values), "rate": round(hits / len(values), 3)}


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's figures over the rows so far."""
    answerable = [r for r in rows if r["kind"] == "answerable" and "error" not in r]
    oos = [r for r in rows if r["kind"] == "out_of_scope" and "error" not in r]
    generated = [r for r in rows if r.get("found") and "error" not in r]
    unsupported = [r["unsupported"] for r in rows if r.get("unsupported") is not None]
    return {
        "answerable": len(answerable),
        "out_of_scope": len(oos),
        "errors": sum("error" in r for r in rows),
        "right_page_in_sources": _count(answerable, "right_page_in_sources"),
        "right_page_cited": _count(answerable, "right_page_cited"),
        "fact_in_answer": _count(answerable, "fact_in_answer"),
        "fact_in_evidence": _count(answerable, "fact_in_evidence"),
        "fact_in_evidence_or_answer": _count(answerable, "fact_shown"),
        "evidence_right_page": _count(answerable, "evidence_right_page"),
        "repeated_sentence_answers": _count(generated, "repeated"),
        "unsupported_sentences": sum(unsupported) if unsupported else None,
        "answers_with_unsupported": (
            {"n": sum(u > 0 for u in unsupported), "of": len(unsupported)} if unsupported else None
        ),
        "oos_abstained": _count([{"a": not r["found"]} for r in oos], "a"),
        "answerable_false_abstained": _count([{"a": not r["found"]} for r in answerable], "a"),
        "median_ttft_s": _median(generated, "ttft_s"),
        "median_ttft_all_s": _median([r for r in rows if "error" not in r], "ttft_s"),
        "median_evidence_s": _median(rows, "evidence_s"),
        "median_total_s": _median(generated, "total_s"),
    }


def _mark(value: Any) -> str:
    return "-" if value is None else ("y" if value else ".")


def print_row(r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"{r['id']:<9} ERROR {r['error']}", flush=True)
        return
    print(
        f"{r['id']:<9} {'ans' if r['kind'] == 'answerable' else 'oos':<4}"
        f" found={_mark(r['found'])} src={_mark(r.get('right_page_in_sources'))}"
        f" cite={_mark(r.get('right_page_cited'))} fact={_mark(r.get('fact_in_answer'))}"
        f" evfact={_mark(r.get('fact_in_evidence'))} rep={_mark(r['repeated'])}"
        f" unsup={'-' if r['unsupported'] is None else r['unsupported']}"
        f" ttft={r['ttft_s']} ev={r['evidence_s']} total={r['total_s']}",
        flush=True,
    )


def print_summary(summary: dict[str, Any]) -> None:
    print("\n== summary ==")
    for key, value in summary.items():
        if isinstance(value, dict):
            shown = f"{value['n']}/{value['of']}" + (
                f"  ({value['rate']:.0%})" if "rate" in value else ""
            )
        else:
            shown = "null" if value is None else str(value)
        print(f"{key:<28} {shown}")


# --- main ------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, required=True, help="folder of the three manuals")
    parser.add_argument("--index", type=Path, required=True, help="index folder (reused)")
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--ids", default="", help="comma-separated question ids only")
    parser.add_argument("--out", type=Path, default=Path("bench-results/answers.json"))
    parser.add_argument(
        "--api",
        choices=("auto", "stream", "events"),
        default="auto",
        help="events: assistant.events() (the typed stream); auto: events where it exists",
    )
    parser.add_argument(
        "--evidence-only",
        action="store_true",
        help="retrieval and evidence only, no model: the key fact in the evidence per lever",
    )
    parser.add_argument(
        "--levers",
        default="",
        help="with --evidence-only: comma-separated variants to compare (default: all)",
    )
    parser.add_argument(
        "--llama-extra-buffers",
        action="store_true",
        help="keep llama.cpp's AMX/repacked weight buffers (they segfault on some CPUs)",
    )
    return parser.parse_args()


def select(questions: list[Question], ids: str, limit: int | None) -> list[Question]:
    """The questions named in ``ids`` (in that order; all when empty), the first ``limit``."""
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    by_id = {q.id: q for q in questions}
    chosen = [by_id[i] for i in wanted] if wanted else questions
    return chosen[:limit] if limit else chosen


def setup(args: argparse.Namespace) -> tuple[DocumentAssistant, dict[str, Any]]:
    """Build the assistant, ingest, load the model; return it with the setup figures."""
    if not args.llama_extra_buffers and "llama_extra_buffers" not in Settings.model_fields:
        disable_llama_extra_buffers()  # code older than Settings.llama_extra_buffers
    settings = Settings(documents_dir=args.docs, index_dir=args.index)
    started = time.perf_counter()
    assistant = DocumentAssistant.from_settings(settings)
    report = assistant.ingest()
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    if getattr(settings, "answer_style", "generate") != "evidence":
        _ = assistant.llm  # load once, so the first question's times are not the load's
    meta = {
        "code": str(Path(gpt4all_rag.__file__).resolve().parent),
        "model": assistant.model_name,
        "settings": json.loads(settings.model_dump_json()),
        "chunks": assistant.status().chunks,
        "ingest_s": round(ingest_s, 2),
        "ingest_added": list(getattr(report, "added", [])),
        "model_load_s": round(time.perf_counter() - started, 2),
        "llama_extra_buffers": args.llama_extra_buffers,
        "load_average": list(os.getloadavg()),
    }
    return assistant, meta


def main() -> int:
    args = parse_args()
    questions = select(load_devset(args.devset), args.ids, args.limit)
    if args.evidence_only:
        from scripts.bench_evidence import run_evidence_only

        return run_evidence_only(args, questions)
    assistant, meta = setup(args)
    use_events = args.api == "events" or (args.api == "auto" and hasattr(assistant, "events"))
    meta["api"] = "events" if use_events else "stream"
    print(
        f"code {meta['code']}, model {meta['model']}, {meta['chunks']} chunks, "
        f"api {meta['api']}, {len(questions)} questions",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    for q in questions:
        try:
            rows.append(measure(assistant, q, use_events))
        except Exception as error:  # one failing question should not cost the run
            rows.append({"id": q.id, "kind": q.kind, "error": f"{type(error).__name__}: {error}"})
        print_row(rows[-1])
        result = {"meta": meta, "summary": summarize(rows), "questions": rows}
        write_result(args.out, "bench_answers", result, indent=1)
    print_summary(summarize(rows))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
