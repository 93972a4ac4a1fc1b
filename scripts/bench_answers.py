"""Answer benchmark: the R-manual dev set through DocumentAssistant, in one process.

Usage:
    python scripts/bench_answers.py --docs bench-data/rdev-docs --index bench-data/rdev-index \
        [--limit N] [--ids exts-01,oos-03] [--out bench-results/answers.json]
    python scripts/bench_answers.py --docs ... --index ... --evidence-only [--levers a,b]
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
reported as null where the code does not have it. Settings other than the two folders
come from GPT4ALL_RAG_* variables (e.g. GPT4ALL_RAG_ANSWER_STYLE=both).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset_common import (  # noqa: E402
    DEVSET,
    Question,
    contains_facts,
    load_devset,
    normalize,
    page_matches,
)

try:  # PYTHONPATH (e.g. a baseline worktree) wins; else this checkout
    import gpt4all_rag
except ImportError:
    sys.path.append(str(Path(__file__).resolve().parents[1]))
    import gpt4all_rag

from gpt4all_rag import DocumentAssistant, Settings  # noqa: E402

_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+")  # identifiers split: a loop inside one name counts


# --- repetition -----------------------------------------------------------------
def _words(text: str) -> list[str]:
    return _WORD.findall(normalize(_CITATION.sub(" ", text)))


def repeated_sentence(text: str, min_words: int = 5, ngram: int = 8, ngram_times: int = 3) -> bool:
    """Whether an answer repeats itself.

    True when a normalized sentence (lower case, citation markers and punctuation dropped)
    of at least ``min_words`` words occurs twice, or any run of ``ngram`` words occurs
    ``ngram_times`` times or more (a loop that never ends a sentence). Words are split at
    any non-alphanumeric character, so ``FLAG_ON_EXIT_ON_EXIT_ON_EXIT...`` is a loop too.
    """
    sentences = [" ".join(_words(s)) for s in _SENTENCE_END.split(text)]
    counted = Counter(s for s in sentences if len(s.split()) >= min_words)
    if any(n >= 2 for n in counted.values()):
        return True
    words = _words(text)
    grams = Counter(tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1))
    return any(n >= ngram_times for n in grams.values())


# --- reading an Answer whatever its version -----------------------------------------
def _get(item: Any, name: str, default: Any = None) -> Any:
    """A field of a dict or an object."""
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)


def evidence_of(answer: Any) -> list[Any] | None:
    """``answer.evidence`` as a list, or None where the Answer has no such field."""
    evidence = getattr(answer, "evidence", None)
    return None if evidence is None else list(evidence)


def evidence_text(items: list[Any]) -> str:
    return " ".join(str(_get(item, "text", "") or "") for item in items)


def evidence_source_numbers(items: list[Any]) -> list[int]:
    numbers = []
    for item in items:
        source = _get(item, "source", _get(item, "number"))
        if isinstance(source, int):
            numbers.append(source)
        elif source is not None and _get(source, "number") is not None:
            numbers.append(int(_get(source, "number")))
    return numbers


def sentence_support(answer: Any) -> dict[str, Any]:
    """Unsupported and inferred-citation counts from ``answer.sentences`` (None if absent)."""
    sentences = getattr(answer, "sentences", None)
    if sentences is None:
        return {"sentences": None, "unsupported": None, "inferred": None, "support": None}
    items = list(sentences)
    flags = [_get(s, "supported") for s in items]
    known = any(f is not None for f in flags)
    return {
        "sentences": len(items),
        "unsupported": sum(f is False for f in flags) if known else None,
        "inferred": sum(bool(_get(s, "inferred", False)) for s in items),
        "support": [_rounded(_get(s, "support")) for s in items],
    }


def _rounded(value: Any) -> float | None:
    return round(float(value), 4) if isinstance(value, (int, float)) else None


def is_answer(item: Any) -> bool:
    return hasattr(item, "sources") and hasattr(item, "text") and hasattr(item, "question")


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
    name = str(_get(event, "kind") or _get(event, "type") or type(event).__name__).lower()
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
        if kind == "token" and timing.first_token is None and str(_get(item, "text", "")).strip():
            timing.first_token = timing.now()
        elif kind == "evidence" and timing.first_evidence is None:
            timing.first_evidence, timing.evidence_from = timing.now(), "event"
        elif kind == "answer" and is_answer(_get(item, "answer")):
            answer = _get(item, "answer")
    timing.done = timing.now()
    return answer


def question_stream(assistant: DocumentAssistant, text: str, use_events: bool) -> Iterator[Any]:
    if use_events:
        return iter(assistant.events(text))  # type: ignore[attr-defined]
    return iter(assistant.stream(text))


def cited_right_page(q: Question, answer: Any) -> bool:
    by_number = {s.number: s for s in answer.sources}
    return any(
        n in by_number and page_matches(q, by_number[n].file, by_number[n].page)
        for n in answer.cited
    )


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
            {"text": str(_get(e, "text", "")), "source": _get(e, "source", _get(e, "number"))}
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


def score_answerable(q: Question, answer: Any, evidence: list[Any] | None) -> dict[str, Any]:
    by_number = {s.number: s for s in answer.sources}
    evidence_pages = None
    if evidence is not None:
        numbers = evidence_source_numbers(evidence)
        evidence_pages = any(
            n in by_number and page_matches(q, by_number[n].file, by_number[n].page)
            for n in numbers
        )
    return {
        "right_page_in_sources": any(page_matches(q, s.file, s.page) for s in answer.sources),
        "right_page_cited": cited_right_page(q, answer),
        "fact_in_answer": bool(contains_facts(q.facts, answer.text)),
        "fact_in_evidence": None
        if evidence is None
        else bool(contains_facts(q.facts, evidence_text(evidence))),
        # what the person reads: the evidence above the answer, and the answer
        "fact_shown": bool(
            contains_facts(q.facts, evidence_text(evidence or []) + " " + answer.text)
        ),
        "evidence_right_page": evidence_pages,
    }


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


def disable_llama_extra_buffers() -> None:
    """Load GGUF weights without llama.cpp's extra CPU buffer types (AMX, weight repacking).

    On this VM's CPU (AMX in cpuinfo) llama-cpp-python 0.3.36 segfaults in the first
    batched decode (any prompt of two or more tokens) unless ``use_extra_bufts`` is off;
    the plain AVX-512 path gives the same tokens. Patched here, before any model loads,
    so the benchmark runs the product's code unchanged.
    """
    try:
        import llama_cpp.llama_cpp as bindings
    except ImportError:
        return
    original = bindings.llama_model_default_params

    def params() -> Any:
        chosen = original()
        chosen.use_extra_bufts = False
        return chosen

    bindings.llama_model_default_params = params


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
        from bench_evidence import run_evidence_only

        return run_evidence_only(args, questions)
    assistant, meta = setup(args)
    use_events = args.api == "events" or (args.api == "auto" and hasattr(assistant, "events"))
    meta["api"] = "events" if use_events else "stream"
    print(
        f"code {meta['code']}, model {meta['model']}, {meta['chunks']} chunks, "
        f"api {meta['api']}, {len(questions)} questions",
        flush=True,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for q in questions:
        try:
            rows.append(measure(assistant, q, use_events))
        except Exception as error:  # one failing question should not cost the run
            rows.append({"id": q.id, "kind": q.kind, "error": f"{type(error).__name__}: {error}"})
        print_row(rows[-1])
        result = {"meta": meta, "summary": summarize(rows), "questions": rows}
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print_summary(summarize(rows))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
