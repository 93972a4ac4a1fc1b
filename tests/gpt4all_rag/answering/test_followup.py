"""Follow-up detection, rewrite validation and the search plan (fast tier, no model)."""

from __future__ import annotations

import pytest

from gpt4all_rag.answering.followup import (
    SearchPlan,
    content_words,
    depends_on_history,
    fuse_rankings,
    key_terms,
    mentions,
    plan_search,
    valid_rewrite,
)
from vectorstore.passage import Passage

FLOATS = [
    {"role": "user", "content": "How do I compare floating point numbers in R?"},
    {"role": "assistant", "content": "Use all.equal() [1]."},
]


@pytest.mark.parametrize(
    "question",
    [
        "And Mars?",
        "what about it",
        "How do I do that?",
        "Which header declares those two?",
        "And with valgrind?",
        "Which attribute holds its labels?",
        "Can I step through the code interactively instead?",
        "Why?",
    ],
)
def test_a_question_that_leans_on_the_conversation_depends_on_it(question):
    assert depends_on_history(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "How hot is Venus?",
        "Who created R?",
        "How can a long-running C loop in my package let the user interrupt it?",
        "What does switch() return if none of the alternatives match and there is no default?",
    ],
)
def test_a_question_that_names_its_subject_stands_alone(question):
    assert not depends_on_history(question)


@pytest.mark.parametrize(
    "rewrite",
    [
        # What the bundled model wrote for follow-ups (issue 25).
        "This is a classic example of a question that requires a bit of explanation. "
        "The answer is:",
        "You can compare floating point numbers in R using the `fapply` function [1]",
        "The answer to this question is: 1.",
        # A question, but the follow-up's own words are gone (dragged into the old topic).
        "How do I compare floating point numbers in R?",
        "",
    ],
)
def test_a_rewrite_that_answers_or_drops_the_question_is_rejected(rewrite):
    assert not valid_rewrite(rewrite, "How hot is Venus?")


def test_a_rewrite_that_keeps_the_words_and_asks_is_accepted():
    assert valid_rewrite("How do I remove an installed R package?", "And how do I remove it?")
    assert valid_rewrite("Which header declares GetRNGstate", "Which header declares those?")


def test_key_terms_come_from_the_earlier_questions_not_the_answers():
    history = [
        {"role": "user", "content": "How do I run my package's examples under valgrind?"},
        {"role": "assistant", "content": "Use gdb instead, it is faster."},
        {"role": "user", "content": "And with the tests?"},
        {"role": "assistant", "content": "Also gdb."},
    ]
    assert content_words("And with the tests?") == ["tests"]
    # the dependent "And with the tests?" does not stop the walk back; the answers are not read
    assert key_terms("What about gdb?", history) == [
        "tests",
        "run",
        "package",
        "examples",
        "valgrind",
    ]


def test_a_follow_up_is_planned_with_the_key_terms_and_no_model():
    plan = plan_search("And Mars?", FLOATS)
    assert plan == SearchPlan(
        "And Mars?", True, "And Mars? (compare, floating, point, numbers)", "terms"
    )


def test_the_model_is_asked_only_for_a_dependent_question_and_kept_only_if_valid():
    asked: list[int] = []

    def model(reply: str):
        def rewrite() -> str:
            asked.append(1)
            return reply

        return rewrite

    assert plan_search("Who created R?", FLOATS, model("Who created floats?")) == SearchPlan(
        "Who created R?"
    )
    assert asked == []
    kept = plan_search("And for doubles?", FLOATS, model('"How do I compare doubles in R?"\nok'))
    assert (kept.rewrite, kept.kind) == ("How do I compare doubles in R?", "model")
    refused = plan_search("And for doubles?", FLOATS, model("The answer is: 1."))
    assert (refused.rewrite, refused.kind) == (
        "And for doubles? (compare, floating, point, numbers)",
        "terms",
    )
    assert asked == [1, 1]


def test_no_history_means_no_plan_beyond_the_question():
    assert plan_search("  And Mars? ", []) == SearchPlan("And Mars?")


def passage(chunk_id: str, collection: str = "") -> Passage:
    metadata = {"path": "a.md", "collection": collection} if collection else {"path": "a.md"}
    return Passage(chunk_id, chunk_id, metadata, 0.0, 0.5)  # type: ignore[arg-type]


def test_fusion_ranks_what_both_searches_found_first_and_keeps_collections_apart():
    typed = [passage("a"), passage("b"), passage("c")]
    rewrite = [passage("c"), passage("d"), passage("a", "other")]
    fused = fuse_rankings([typed, rewrite], k=4)
    assert [(p.id, p.metadata.get("collection", "")) for p in fused] == [
        ("c", ""),
        ("a", ""),
        ("b", ""),  # ties with d: the typed question's find first
        ("d", ""),
    ]
    weighted = fuse_rankings([typed, rewrite], k=2, weights=[1.0, 3.0])
    assert [p.id for p in weighted] == ["c", "d"]


def test_a_follow_up_is_mentioned_when_half_its_own_words_are_in_the_passages():
    loops = [Passage("p", "Use break to leave a repeat loop; next skips.", {}, 0.0, 0.5)]  # type: ignore[arg-type]
    assert not mentions("And in Kotlin?", loops)
    assert mentions("And how do I skip to the next iteration?", loops)  # skip, next: 2 of 3
    assert not mentions("And how do I skip an iteration in Kotlin?", loops)  # 1 of 3
    assert mentions("How do I do that?", loops)  # no words of its own: the search decides
