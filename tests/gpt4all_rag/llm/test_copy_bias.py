"""The copy bias (grounded decoding): which logits it raises, on token ids without a model."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gpt4all_rag.answering.prompts import build_answer_messages, format_passage
from gpt4all_rag.llm.copy_bias import (
    COMMON_WORDS,
    CopyBias,
    SourceTokens,
    VocabTable,
    source_text,
    source_token_ids,
)
from gpt4all_rag.llm.llama_cpp import LlamaCppBackend
from gpt4all_rag.settings import BUNDLED_COPY_BIAS, Settings, bundled_gguf

# A toy vocabulary: the id is the index.
PIECES = [
    "<eot>",  # 0: control
    " the",  # 1: common word
    ".",  # 2: punctuation
    " 42",  # 3: digits
    "[",  # 4
    " install",  # 5: in the sources
    "_",  # 6: joint
    "packages",  # 7: in the sources, after "_"
    " zorblax",  # 8: foreign
    "frob",  # 9: foreign
    "`",  # 10: backtick
    "lib",  # 11: in the sources, never after "_"
]
PROMPT = [1, 2, 1]  # what the model has read before the answer


def table() -> VocabTable:
    return VocabTable.from_pieces(PIECES, control=[0])


def sources() -> SourceTokens:
    return SourceTokens.from_sequences([[5, 6, 7], [11, 2]])


def scores(n: int = len(PIECES)) -> np.ndarray:
    return np.linspace(-1.0, 1.0, n, dtype=np.float32)


def test_the_table_allows_control_punctuation_digits_and_common_words() -> None:
    vocab = table()
    assert vocab.allowed.tolist() == [
        True, True, True, True, True, False, True, False, False, False, True, False,
    ]  # fmt: skip
    assert vocab.ticks[10] == 1 and vocab.ticks.sum() == 1
    assert np.flatnonzero(vocab.joins).tolist() == [2, 6]
    assert "the" in COMMON_WORDS


def test_the_bias_lands_on_source_and_allowed_tokens_only() -> None:
    before = scores()
    after = CopyBias(table(), sources(), 2.5)(np.array(PROMPT, np.intc), before)
    raised = np.flatnonzero(~np.isclose(after - before, 0.0)).tolist()
    assert raised == [0, 1, 2, 3, 4, 5, 6, 7, 10, 11]  # not the foreign 8 and 9
    assert np.allclose((after - before)[raised], 2.5)
    assert after.dtype == np.float32 and after.shape == before.shape
    assert np.array_equal(before, scores())  # the input is not changed in place


def test_zero_bias_is_the_identity() -> None:
    before = scores()
    after = CopyBias(table(), sources(), 0.0)(np.array(PROMPT, np.intc), before)
    assert after is before


def test_after_a_joint_the_sources_continuation_gets_the_bias_again() -> None:
    bias = CopyBias(table(), sources(), 1.0)
    bias(np.array(PROMPT, np.intc), scores())  # the prompt ends; the answer starts
    after = bias(np.array([*PROMPT, 5, 6], np.intc), scores()) - scores()
    assert after[7] == pytest.approx(2.0)  # "packages" followed "_" in the sources
    assert after[11] == pytest.approx(1.0)  # "lib" is a source token, but never after "_"
    assert after[8] == pytest.approx(0.0)


def test_inside_a_backticked_span_names_continue_as_the_sources_spell_them() -> None:
    bias = CopyBias(table(), sources(), 1.0)
    bias(np.array([*PROMPT, 10], np.intc), scores())  # the prompt itself ends in a backtick
    outside = bias(np.array([*PROMPT, 10, 5], np.intc), scores()) - scores()
    assert outside[6] == pytest.approx(1.0)  # the prompt's backtick opens no span
    inside = bias(np.array([*PROMPT, 10, 5, 10, 5], np.intc), scores()) - scores()
    assert inside[6] == pytest.approx(2.0)  # after "`install": "_" as in the sources


def test_a_longer_score_row_keeps_its_extra_tokens() -> None:
    row = scores(len(PIECES) + 3)
    after = CopyBias(table(), sources(), 1.0)(np.array(PROMPT, np.intc), row)
    assert after.shape == row.shape and after.dtype == np.float32
    assert np.array_equal(after[len(PIECES) :], row[len(PIECES) :])


def test_source_tokens_hold_each_word_alone_and_after_a_space() -> None:
    vocab = {"zorblax_frob": 1, " zorblax_frob": 2, "use": 3, " use": 4, "use zorblax_frob": 5}

    def tokenize(text: str) -> list[int]:
        return [vocab[text]] if text in vocab else [99]

    found = source_token_ids("use zorblax_frob", tokenize)
    assert found.ids == {1, 2, 3, 4, 5}
    assert found.successors == {}


def test_the_source_text_drops_the_passage_tags_and_their_file_names() -> None:
    turn = "How?\n" + format_passage(1, "Call tools::foo().").replace('">', '" file="R-exts.pdf">')
    assert "R-exts.pdf" in turn
    text = source_text(turn)
    assert "tools::foo()" in text and "How?" in text
    assert "R-exts" not in text and "passage" not in text


def test_the_setting_defaults_to_the_measured_bias_and_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().resolved_copy_bias() == 4.0  # docs/benchmarks.md, grounded decoding
    monkeypatch.setenv("GPT4ALL_RAG_COPY_BIAS", "0")
    assert Settings().resolved_copy_bias() == 0.0


# --- the bundled model --------------------------------------------------------

PASSAGES = [
    'To install a package from CRAN call install.packages("zorblaxtools") in an R session, '
    "then load it with library(zorblaxtools).",
    "R CMD INSTALL installs a source package from a tarball.",
]
_WORD = re.compile(r"[A-Za-z]+")


def _share_in_sources(text: str) -> float:
    known = {w.lower() for w in _WORD.findall(" ".join(PASSAGES))} | COMMON_WORDS
    words = [w.lower() for w in _WORD.findall(text)]
    return sum(w in known for w in words) / max(len(words), 1)


@pytest.mark.slow
def test_a_strong_copy_bias_keeps_the_bundled_model_to_the_sources_words() -> None:
    messages = build_answer_messages("How do I install a package in R?", PASSAGES)
    texts = [
        "".join(
            LlamaCppBackend(bundled_gguf(), context_size=2048, copy_bias=bias).stream_chat(
                messages, max_tokens=40, temperature=0.0
            )
        )
        for bias in (0.0, 8.0)
    ]
    assert texts[1] != texts[0]
    assert _share_in_sources(texts[1]) > _share_in_sources(texts[0])


def test_the_bias_is_on_for_the_model_it_was_measured_on_only(tmp_path) -> None:
    other = tmp_path / "llama-3-8b.gguf"
    other.write_bytes(b"GGUF")
    assert Settings().resolved_copy_bias() == BUNDLED_COPY_BIAS > 0
    assert Settings(model_path=bundled_gguf()).resolved_copy_bias() == BUNDLED_COPY_BIAS
    assert Settings(model_path=other).resolved_copy_bias() == 0.0  # not measured: off
    assert Settings(model_path=other, copy_bias=2.0).resolved_copy_bias() == 2.0
    assert Settings(copy_bias=0.0).resolved_copy_bias() == 0.0
