"""Grounded decoding (issue 25, item 6): invented identifiers in runs of bench_answers.py.

Usage:
    GPT4ALL_RAG_COPY_BIAS=<b> python -m scripts.bench_answers ... \
        --out bench-results/copybias-b<b>.json
    python -m scripts.bench_copy_bias --docs bench-data/rdev-docs --index <copy of rdev-index> \
        bench-results/copybias-b0.json bench-results/copybias-b2.json ...

For every answer of each run, the identifiers of the model's text (backticked spans,
``name()`` calls, ``snake_case``, dotted and ``pkg::fun`` names) are looked for in the
passages the model read (retrieval again, no model: the flow's own ``read_passages``)
and in the question; one that is in neither is invented. Prints one row a run with the
bench's own figures beside it, over the questions every run answered (a run cut short
keeps what it measured), and saves them all to --out.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from gpt4all_rag import DocumentAssistant, Settings
from gpt4all_rag.answering.flow import Question
from scripts._common import read_result, write_result
from scripts.bench_answers import summarize

_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_NAME = re.compile(
    r"(?<![\w.:$-])(?:[A-Za-z][\w-]*(?:(?:::|\.|\$)[A-Za-z_]\w*)+|[A-Za-z]\w*_\w+|[A-Za-z][\w.]*\(\))"
)
_MARKER = re.compile(r"\[\d+\]")
_NOT_NAMES = frozenset({"e.g", "i.e", "etc", "vs"})


def identifiers(text: str) -> set[str]:
    """The names a reader would type: code spans, calls, snake_case, dotted and ``::`` names."""
    text = _MARKER.sub(" ", text)
    found = {s.strip() for s in _SPAN.findall(text)}
    found |= set(_NAME.findall(text))
    return {_bare(i) for i in found if _bare(i) and _bare(i).lower() not in _NOT_NAMES}


def _bare(name: str) -> str:
    name = name.strip().strip(".,;:'\"")
    return name[:-2] if name.endswith("()") else name


def invented(text: str, sources: str) -> list[str]:
    """The identifiers of ``text`` that ``sources`` does not hold (as written)."""
    return sorted(i for i in identifiers(text) if i not in sources)


def read_passages(assistant: DocumentAssistant, question: str) -> str:
    """The text of the passages the model was given for ``question`` (and the question)."""
    flow = assistant.flow
    asked = Question(question)
    retrieval = flow.retrieve(asked, flow.plan(asked))
    return "\n".join([question, *(p.text for p in flow.config.read(retrieval.passages))])


def score_run(
    path: Path, assistant: DocumentAssistant, cache: dict[str, str], ids: set[str]
) -> dict[str, Any]:
    """The run's figures over the questions ``ids`` and its invented identifiers."""
    result = read_result(path)
    rows = [r for r in result["questions"] if "error" not in r and r["id"] in ids]
    per_answer = []
    for row in rows:
        if not row["found"] or row["kind"] != "answerable":
            continue
        sources = cache.setdefault(row["question"], read_passages(assistant, row["question"]))
        names = identifiers(row["text"])
        made_up = invented(row["text"], sources)
        per_answer.append({"id": row["id"], "identifiers": len(names), "invented": made_up})
    summary = summarize(rows)
    ttft = [r["ttft_s"] for r in rows if r["found"] and r.get("ttft_s") is not None]
    return {
        "file": str(path),
        "copy_bias": result["meta"]["settings"].get("copy_bias"),
        "questions": len(rows),
        "fact_in_answer": summary["fact_in_answer"],
        "right_page_cited": summary["right_page_cited"],
        "unsupported_sentences": summary["unsupported_sentences"],
        "answers_with_unsupported": summary["answers_with_unsupported"],
        "oos_abstained": summary["oos_abstained"],
        "answerable_false_abstained": summary["answerable_false_abstained"],
        "repeated_sentence_answers": summary["repeated_sentence_answers"],
        "median_ttft_s": round(statistics.median(ttft), 3) if ttft else None,
        "median_total_s": summary["median_total_s"],
        "identifiers": sum(a["identifiers"] for a in per_answer),
        "invented": sum(len(a["invented"]) for a in per_answer),
        "answers_with_invented": sum(bool(a["invented"]) for a in per_answer),
        "invented_file_names": sum(  # a manual's name from the prompt's tags, e.g. R-exts.pdf
            sum(i.lower().endswith(".pdf") for i in a["invented"]) for a in per_answer
        ),
        "answers": len(per_answer),
        "per_answer": per_answer,
    }


def _shown(value: Any) -> str:
    return f"{value['n']}/{value['of']}" if isinstance(value, dict) else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="bench_answers.py result files")
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("bench-results/copybias-summary.json"))
    args = parser.parse_args()
    settings = Settings(documents_dir=args.docs, index_dir=args.index, answer_style="evidence")
    assistant = DocumentAssistant.from_settings(settings)
    cache: dict[str, str] = {}
    answered = [{r["id"] for r in read_result(path)["questions"]} for path in args.runs]
    ids = set.intersection(*answered)  # a run cut short: compare on the questions all answered
    scored = [score_run(path, assistant, cache, ids) for path in args.runs]
    keys = [
        *("copy_bias", "questions", "fact_in_answer", "right_page_cited", "unsupported_sentences"),
        *("oos_abstained", "median_ttft_s", "identifiers", "invented", "answers_with_invented"),
        "invented_file_names",
    ]
    print(" | ".join(keys))
    for run in scored:
        print(" | ".join(_shown(run[k]) for k in keys))
    write_result(args.out, "bench_copy_bias", {"runs": scored}, indent=1)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
