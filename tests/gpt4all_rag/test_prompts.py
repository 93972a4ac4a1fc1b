"""Prompt building, history formatting and citation parsing: exact, no model."""

from __future__ import annotations

from gpt4all_rag.prompts import (
    SYSTEM_PROMPT,
    build_answer_prompt,
    build_condense_prompt,
    format_passage,
    parse_citations,
)
from vectorstore.retriever import Passage


def passage(n: int, words: int, page: int | None = 1) -> Passage:
    meta = {"path": f"doc{n}.pdf"} | ({"page": page} if page is not None else {})
    return Passage(f"id{n}", " ".join(["word"] * words), meta, 1.0 / n, 0.9)


def count_words(text: str) -> int:
    return len(text.split())


def test_passages_are_numbered_with_file_and_page():
    built = build_answer_prompt(
        "Why?", [passage(1, 3), passage(2, 2, page=None)], count_words, 1000
    )
    assert built.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert built.messages[1]["content"] == (
        '<passage n="1" file="doc1.pdf" page="1">\nword word word\n</passage>\n\n'
        '<passage n="2" file="doc2.pdf">\nword word\n</passage>\n\n'
        "Question: Why?"
    )
    assert [p.id for p in built.passages] == ["id1", "id2"]


def test_passages_that_do_not_fit_the_budget_are_left_out_and_numbering_stays_dense():
    fixed = count_words(SYSTEM_PROMPT) + count_words("Question: Why?") + 16
    block = count_words(format_passage(1, passage(1, 10))) + 2  # 10 words + 4 tag words + 2
    budget = fixed + block + block - 1  # room for one 10-word passage, not two
    built = build_answer_prompt(
        "Why?", [passage(1, 10), passage(2, 10), passage(3, 2)], count_words, budget
    )
    assert [p.id for p in built.passages] == ["id1", "id3"]
    assert '<passage n="2" file="doc3.pdf" page="1">' in built.messages[1]["content"]
    assert "doc2.pdf" not in built.messages[1]["content"]
    total = sum(count_words(m["content"]) for m in built.messages)
    assert total <= budget


def test_no_passage_fits_a_tiny_budget():
    built = build_answer_prompt("Why?", [passage(1, 50)], count_words, 10)
    assert built.passages == []


def test_citations_are_parsed_in_range_and_sorted():
    text = "Heat is 451 K [2]. Also [1, 3] and [3;2]. Not [9], not [0], not [x]."
    assert parse_citations(text, passage_count=3) == [1, 2, 3]
    assert parse_citations("no markers here", 3) == []
    assert parse_citations("[12]", 12) == [12]


def test_condense_prompt_carries_the_conversation():
    history = [
        {"role": "user", "content": "Which planets are hot?"},
        {"role": "assistant", "content": "Venus [1]."},
    ]
    messages = build_condense_prompt("and the second one?", history)
    assert messages[1]["content"] == (
        "Conversation:\nUser: Which planets are hot?\nAssistant: Venus [1].\n\n"
        "Follow-up question: and the second one?\n\nStandalone question:"
    )
