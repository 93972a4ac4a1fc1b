"""Sources as Markdown footnotes, markers split across tokens, and history read back."""

from __future__ import annotations

import pytest

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.server.chat import question_and_history
from gpt4all_rag.server.errors import ApiError
from gpt4all_rag.server.footnotes import (
    InertStream,
    footnote_block,
    footnote_markers,
    sources_json,
    strip_footnotes,
)
from gpt4all_rag.server.schemas import ChatMessage
from gpt4all_rag.trust.grounding import SentenceSupport


def source(number: int, file: str, page: int | None) -> Source:
    return Source(number, file, page, f"text {number}", 0.5, 0.5)


def test_markers_become_footnotes_only_for_numbers_of_these_sources():
    text = "Hot [1]. Cold [2, 3]; see [1;2]. Not ours: [4] and [0] and [1, 9]."
    assert footnote_markers(text, 3) == (
        "Hot [^1]. Cold [^2][^3]; see [^1][^2]. Not ours: [4] and [0] and [1, 9]."
    )


@pytest.mark.parametrize(
    "pieces",
    [
        ["It is 451 kelvin ", "[", "1", "]", ". ", "Done", " [2", ", 1]", " "],
        ["  It is 451 kelvin [1]", ". Done [2, 1] "],
        list("  It is 451 kelvin [1]. Done [2, 1]  "),
    ],
)
def test_a_marker_split_across_tokens_is_rewritten_whole(pieces):
    rewriter = InertStream(2)
    shown = "".join(rewriter.feed(p) for p in pieces) + rewriter.flush()
    assert shown == "It is 451 kelvin [^1]\\. Done [^2][^1]"


def test_an_unclosed_bracket_is_shown_at_the_end():
    rewriter = InertStream(2)
    assert rewriter.feed("a [1") == "a"
    assert rewriter.flush() == " \\[1"


def test_footnote_block_defines_the_cited_sources_and_flags_unsupported_claims():
    sources = (source(1, "manual.pdf", 2), source(2, "notes_[draft]*.md", None))
    sentences = (
        SentenceSupport("It is 451 kelvin [1].", (1,), 0.9, False, True),
        SentenceSupport(" It is *blue*.", (), 0.1, False, False),
    )
    answer = Answer(
        "q", "It is 451 kelvin [1]. It is *blue*. [2]", sources, (1, 2), "q", True, (), sentences
    )
    assert footnote_block(answer) == (
        "\n\n[^1]: From manual\\.pdf\\, page 2\n[^2]: From notes\\_\\[draft\\]\\*\\.md"
        "\n\nNot found in your sources: It is \\*blue\\*\\."
    )
    assert sources_json(answer)[1] == {
        "number": 2,
        "file": "notes_[draft]*.md",
        "page": None,
        "text": "text 2",
        "score": 0.5,
        "cited": True,
    }


def test_no_citation_no_block():
    answer = Answer("q", "Not in your documents.", (source(1, "a.md", None),), ())
    assert footnote_block(answer) == ""


def test_an_answer_of_ours_comes_back_as_history_without_its_footnotes():
    content = (
        "It is 451 kelvin [^1][^2]\\.\n\n[^1]: From manual\\.pdf\\, page 2\n[^2]: From notes\\.md"
        "\n\nNot found in your sources: It is blue\\."
    )
    messages = [
        ChatMessage(role="system", content="You are helpful."),
        ChatMessage(role="user", content="How hot is the core?"),
        ChatMessage(role="assistant", content=content),
        ChatMessage(
            role="user",
            content=[
                {"type": "text", "text": "And the "},
                {"type": "image_url", "image_url": {"url": "x"}},
                {"type": "text", "text": "pressure? "},
            ],
        ),
    ]
    question, history = question_and_history(messages)
    assert question == "And the pressure?"
    assert history == [
        {"role": "user", "content": "How hot is the core?"},
        {"role": "assistant", "content": "It is 451 kelvin [1][2]."},
    ]
    assert strip_footnotes(content) == "It is 451 kelvin [1][2]."


@pytest.mark.parametrize(
    "messages",
    [
        [ChatMessage(role="system", content="hi")],
        [ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="a")],
        [ChatMessage(role="user", content="   ")],
    ],
)
def test_a_conversation_must_end_with_a_question(messages):
    with pytest.raises(ApiError) as raised:
        question_and_history(messages)
    assert raised.value.status == 400
