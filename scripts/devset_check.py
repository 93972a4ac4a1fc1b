"""Check the R-manual dev set against the PDFs it was written from.

Usage: python -m scripts.devset_check [--docs bench-data/rdev-docs] [--devset FILE]

Asserts, for every answerable question, that each key-fact group has an alternative
that literally occurs (case-insensitively, whitespace and quotes normalized) in pypdf's
text of one of the listed pages, numbered from 1 as pypdf counts them (the numbering the
index stores). Also checks ids, kinds, the set's size and its spread over the manuals,
and warns about a listed page that holds none of the facts. Exit code 1 on any error.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from pypdf import PdfReader

from scripts.devset_common import DEVSET, Question, contains_facts, load_devset

MIN_ANSWERABLE = 45
MIN_OUT_OF_SCOPE = 35
MIN_PER_MANUAL = 15


def page_texts(docs: Path, names: set[str]) -> dict[str, list[str]]:
    """pypdf's text of every page of the named PDFs (index 0 is page 1)."""
    return {
        name: [page.extract_text() or "" for page in PdfReader(docs / name).pages]
        for name in sorted(names)
    }


def check_question(q: Question, texts: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """Errors and warnings for one question."""
    if not q.answerable:
        if q.kind != "out_of_scope" or q.pages or q.facts or q.file:
            return [f"{q.id}: out-of-scope questions carry no file, pages or facts"], []
        return [], []
    if not (q.file and q.pages and q.facts):
        return [f"{q.id}: an answerable question needs file, pages and facts"], []
    pages = texts[q.file]
    if any(not 1 <= p <= len(pages) for p in q.pages):
        return [f"{q.id}: page out of range 1..{len(pages)}: {q.pages}"], []
    listed = "\n".join(pages[p - 1] for p in q.pages)
    errors = [
        f"{q.id}: no alternative of {list(group)} on pages {list(q.pages)} of {q.file}"
        for group in q.facts
        if not contains_facts((group,), listed)
    ]
    warnings = [
        f"{q.id}: page {p} holds none of the facts"
        for p in q.pages
        if not any(contains_facts((group,), pages[p - 1]) for group in q.facts)
    ]
    return errors, warnings


def check_set(questions: list[Question]) -> list[str]:
    """Errors about the set as a whole: unique ids, size, spread."""
    errors = []
    ids = Counter(q.id for q in questions)
    errors += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    answerable = [q for q in questions if q.answerable]
    oos = [q for q in questions if q.kind == "out_of_scope"]
    if len(answerable) < MIN_ANSWERABLE:
        errors.append(f"{len(answerable)} answerable questions, want >= {MIN_ANSWERABLE}")
    if len(oos) < MIN_OUT_OF_SCOPE:
        errors.append(f"{len(oos)} out-of-scope questions, want >= {MIN_OUT_OF_SCOPE}")
    for manual, n in Counter(q.file for q in answerable).items():
        if n < MIN_PER_MANUAL:
            errors.append(f"{manual}: {n} questions, want >= {MIN_PER_MANUAL}")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=Path("bench-data/rdev-docs"))
    parser.add_argument("--devset", type=Path, default=DEVSET)
    args = parser.parse_args()
    questions = load_devset(args.devset)
    texts = page_texts(args.docs, {q.file for q in questions if q.answerable})
    errors = check_set(questions)
    for q in questions:
        found, warned = check_question(q, texts)
        errors += found
        for w in warned:
            print(f"warning: {w}")
    for e in errors:
        print(f"ERROR: {e}")
    answerable = Counter(q.file for q in questions if q.answerable)
    oos = sum(q.kind == "out_of_scope" for q in questions)
    print(
        f"{sum(answerable.values())} answerable ({dict(answerable)}), {oos} out of scope: "
        f"{'OK' if not errors else f'{len(errors)} errors'}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
