"""The repetition guard: loops are cut before the second copy, honest answers pass unchanged."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.trust.guard import RepetitionGuard

SENTENCE = 'To install a package from CRAN, call install.packages("name") in R [1].'
HONEST = (
    "The function install.packages downloads a package from CRAN [1]. "
    "The function library loads it [2]. "
    "Use the function update.packages to update them [1].\n"
    "- the function remove.packages deletes one [3].\n"
    "- See [1] and [2]."
)
INNER_LOOP = (
    "R packages are installed with install.packages and then the packages are installed "
    "with install.packages and then the packages are installed with install.packages and then"
)


def guarded(tokens: list[str], **kwargs: int) -> tuple[str, RepetitionGuard]:
    guard = RepetitionGuard(iter(tokens), **kwargs)
    return "".join(guard), guard


def words_of(text: str) -> list[str]:
    return [w + " " for w in text.split(" ")]


def characters(text: str) -> list[str]:
    return list(text)


def test_a_looping_answer_is_cut_before_its_second_copy():
    text, guard = guarded(words_of(" ".join([SENTENCE] * 12)))
    assert text == SENTENCE
    assert guard.stopped is True
    assert guard.reason == "repeated sentence"
    assert guard.text == SENTENCE


def test_a_loop_of_two_sentences_ends_after_the_first_pair():
    pair = "Packages live in libraries [1]. A library is a folder of installed packages [2]."
    text, guard = guarded(words_of(" ".join([pair] * 5)))
    assert text == pair
    assert guard.stopped


def test_the_same_sentence_with_another_marker_or_case_is_still_a_repeat():
    first = "The answer is install.packages [1]."
    text, guard = guarded(words_of(f"{first} the ANSWER is install.packages [2]! More text here."))
    assert text == first
    assert guard.reason == "repeated sentence"


def test_a_legitimate_answer_with_repeated_short_phrases_passes_unchanged():
    text, guard = guarded(words_of(HONEST))
    assert text == HONEST + " "
    assert guard.stopped is False
    assert guard.reason is None


def test_a_loop_inside_one_sentence_is_cut_where_the_repeat_begins():
    text, guard = guarded(words_of(INNER_LOOP))
    assert guard.stopped
    assert guard.reason == "repeated 8-word sequence"
    # words 2-9 ("packages are installed ... and then the") come again from word 10 on
    assert text == "R packages are installed with install.packages and then the"


def test_a_repeat_cut_short_by_the_token_limit_is_dropped():
    text, guard = guarded(
        words_of("Use the install.packages function [1]. Use the install.packages")
    )
    assert text == "Use the install.packages function [1]."
    assert guard.reason == "repeated sentence (cut short)"


def test_short_repeated_sentences_are_not_loops():
    text, guard = guarded(characters("Yes. It is in R-exts [1]. Yes."))
    assert text == "Yes. It is in R-exts [1]. Yes."
    assert not guard.stopped


@pytest.mark.parametrize(
    "answer",
    [
        " ".join([SENTENCE] * 4),
        HONEST,
        INNER_LOOP,
        'Call install.packages("x") [1]. Call install.packages("x") [1, 2]. Done.',
        "First point [1].\n\nSecond point, with e.g. an example [2].\nFirst point [1].\n",
    ],
)
def test_tokens_split_anywhere_give_the_same_result_as_whole(answer: str):
    whole, whole_guard = guarded([answer])
    by_char, char_guard = guarded(characters(answer))
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(answer)), 25))
    pieces = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
    by_piece, piece_guard = guarded(pieces)
    assert whole == by_char == by_piece
    assert whole_guard.reason == char_guard.reason == piece_guard.reason


def test_text_is_streamed_before_the_end_not_held_back():
    seen: list[str] = []
    guard = RepetitionGuard(iter(words_of(HONEST)))
    for piece in guard:
        seen.append(piece)
    assert len(seen) > 10  # streamed in pieces, not released once at the end
    assert seen[0] == "The"  # the space after a word waits for the next word


def test_the_backend_stream_is_closed_when_the_guard_stops():
    pulled: list[int] = []
    closed: list[bool] = []

    def endless() -> Iterator[str]:
        try:
            for index in range(10_000):
                pulled.append(index)
                yield "Again and again the same words come. "
        finally:
            closed.append(True)

    text, guard = guarded(endless())  # type: ignore[arg-type]
    assert text == "Again and again the same words come."
    assert closed == [True]
    assert len(pulled) == 3  # the second copy is known complete when the third begins


def test_works_on_a_scripted_model_stream():
    llm = ScriptedLLM([" ".join([SENTENCE] * 10)])
    guard = RepetitionGuard(llm.stream_chat([], max_tokens=500, temperature=0.0))
    assert "".join(guard) == SENTENCE
    assert guard.stopped


def test_a_loop_inside_one_identifier_is_cut_to_one_copy():
    looping = "Use the knitr engine [2]:\n\n```r\n" + "knitr::" * 60
    for tokens in ([looping], list(looping)):
        guard = RepetitionGuard(iter(tokens))
        text = "".join(guard)
        assert guard.stopped and guard.reason == "repeated text"
        assert text == "Use the knitr engine [2]:\n\n```r\nknitr::"


def test_rules_and_leaders_are_not_loops():
    text = "Results:\n\n----------------------------------------\n1 2 3 4 5 6 7 8 9 10 11 12."
    guard = RepetitionGuard(iter(list(text)))
    assert "".join(guard) == text and not guard.stopped


def test_a_numbered_heading_repeated_line_after_line_is_a_loop():
    guard = RepetitionGuard(iter(["Intro text here.\n"] + ["## 7.2\n"] * 8))
    text = "".join(guard)
    # Whole lines are yielded as they come: the loop is seen, and ended, at its fifth copy.
    assert guard.stopped and text.count("## 7.2") < 5


def test_a_rule_or_a_few_repeated_numbers_are_not_a_loop():
    for pieces in (["Rule:\n"] + ["-----\n"] * 8, ["Values: "] + ["1 "] * 8):
        guard = RepetitionGuard(iter(pieces))
        assert "".join(guard) == "".join(pieces) and not guard.stopped
