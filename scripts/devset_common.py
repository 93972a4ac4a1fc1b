"""The R-manual dev set (tests/data/rdev): loading it and matching its key facts.

Shared by the scripts that score answers against it (devset_check, bench_answers,
calibrate_abstain, ...), so that "the answer contains the key fact" means the same in all.

A question's ``facts`` is a list of fact groups; each group is a list of alternatives.
A text contains the key fact when every group has at least one alternative in it,
compared case-insensitively after normalizing whitespace and typographic quotes
(pypdf gives the manuals' curly quotes and line breaks; a model writes straight ones).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEVSET",
    "Question",
    "contains_facts",
    "load_devset",
    "normalize",
    "page_matches",
]

DEVSET = Path(__file__).resolve().parents[1] / "tests" / "data" / "rdev" / "questions.jsonl"

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " "})
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    """One dev-set question; ``pages`` and ``facts`` are empty for out-of-scope ones."""

    id: str
    question: str
    kind: str
    file: str = ""
    pages: tuple[int, ...] = ()
    facts: tuple[tuple[str, ...], ...] = ()

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"


def load_devset(path: Path = DEVSET) -> list[Question]:
    """Read the JSON-lines dev set."""
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        questions.append(
            Question(
                id=row["id"],
                question=row["question"],
                kind=row["kind"],
                file=row.get("file", ""),
                pages=tuple(row.get("pages", ())),
                facts=tuple(tuple(group) for group in row.get("facts", ())),
            )
        )
    return questions


def normalize(text: str) -> str:
    """Lower case, straight quotes, single spaces."""
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip().casefold()


def contains_facts(facts: tuple[tuple[str, ...], ...], text: str | None) -> bool | None:
    """Whether ``text`` holds every fact group (any alternative of each); None without text."""
    if text is None or not facts:
        return None
    haystack = normalize(text)
    return all(any(normalize(alt) in haystack for alt in group) for group in facts)


def page_matches(question: Question, file: str, page: int | None) -> bool:
    """Whether a source (file relative to the documents folder, 1-based page) is a right page."""
    return Path(file).name == question.file and page in question.pages
