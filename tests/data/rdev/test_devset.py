"""The R-manual dev set's file and the measures the answer benchmark builds on.

Fast: no PDFs, no models. ``scripts/devset_check.py`` checks the pages against the
manuals (they are fetched by ``scripts/fetch_corpora.sh``, not kept in the repo).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from devset_common import contains_facts, load_devset, page_matches  # noqa: E402

QUESTIONS = load_devset()


def test_the_set_has_its_size_and_spread() -> None:
    kinds = Counter(q.kind for q in QUESTIONS)
    manuals = Counter(q.file for q in QUESTIONS if q.answerable)
    assert kinds["answerable"] >= 45 and kinds["out_of_scope"] >= 35
    assert set(manuals) == {"R-exts.pdf", "R-lang.pdf", "R-ints.pdf"}
    assert min(manuals.values()) >= 15
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)


def test_answerable_questions_name_pages_and_facts_out_of_scope_ones_none() -> None:
    for q in QUESTIONS:
        if q.answerable:
            assert q.pages and all(p >= 1 for p in q.pages), q.id
            assert q.facts and all(group and all(group) for group in q.facts), q.id
        else:
            assert (q.file, q.pages, q.facts) == ("", (), ()), q.id


def test_a_fact_matches_any_alternative_of_every_group_whatever_the_case_and_quotes() -> None:
    facts = (("GetRNGstate",), ("PutRNGstate",))
    assert contains_facts(facts, "Call getrngstate() first, then PutRNGstate().") is True
    assert contains_facts(facts, "Call GetRNGstate() first.") is False
    assert contains_facts((("‘Imports’",),), "use the 'Imports'\n field") is True
    assert contains_facts(facts, None) is None


def test_a_right_page_is_the_listed_page_of_the_listed_manual() -> None:
    q = next(q for q in QUESTIONS if q.id == "exts-05")
    assert page_matches(q, "R-exts.pdf", 53)
    assert page_matches(q, "manuals/R-exts.pdf", 53)
    assert not page_matches(q, "R-exts.pdf", 46)
    assert not page_matches(q, "R-lang.pdf", 53)


@pytest.fixture(scope="module")
def repeated_sentence() -> Callable[[str], bool]:
    pytest.importorskip("gpt4all_rag")
    from bench_answers import repeated_sentence

    return repeated_sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Use install.packages() to get it [1]. Use install.packages() to get it [2].", True),
        ("the package is " * 8, True),
        ("Use install.packages() [1]. It installs packages from CRAN.", False),
        ("Use `FLAG_ON_EXIT" + "_ON_EXIT" * 12 + "`.", True),  # a loop inside one name
        ("Yes. Yes.", False),  # under five words: not a loop
        ("One two three four five six seven eight. Nine ten eleven twelve.", False),
    ],
)
def test_repeated_sentence(
    repeated_sentence: Callable[[str], bool], text: str, expected: bool
) -> None:
    assert repeated_sentence(text) is expected


def test_the_mixed_conversations_follow_dev_set_questions_and_say_what_they_test() -> None:
    lines = (Path(__file__).parent / "conversations.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    ids = {q.id for q in QUESTIONS}
    groups = Counter(row["id"].split("-")[0] for row in rows)
    assert groups["follow"] >= 15 and groups["new"] >= 10 and groups["off"] >= 10
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert row["after"] in ids, row["id"]
        assert row["kind"] == ("out_of_scope" if row["id"].startswith("off") else "answerable")
        if row["id"].startswith(("follow", "new")):
            assert row["depends"] == row["id"].startswith("follow"), row["id"]
        if row["kind"] == "answerable":
            assert row["pages"] and row["facts"] and row["standalone"], row["id"]
