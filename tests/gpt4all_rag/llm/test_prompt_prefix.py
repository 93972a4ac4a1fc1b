"""The fixed prompt prefix kept between answers (gpt4all_rag.llm.prompt_prefix)."""

from __future__ import annotations

from typing import Any

import pytest

from gpt4all_rag.answering.prompts import build_answer_messages
from gpt4all_rag.llm.llama_cpp import MODELS, LlamaCppBackend
from gpt4all_rag.llm.prompt_prefix import PromptPrefix, chat_prompt_tokens, fixed_prefix
from gpt4all_rag.settings import bundled_gguf


class CharModel:
    """A stand-in for ``llama_cpp.Llama``: one token a character, a ChatML-like template.

    It records what it evaluates, as llama-cpp-python keeps ``input_ids``/``n_tokens``.
    """

    chat_format = "test"
    _chat_handlers: dict[str, Any] = {}

    def __init__(self) -> None:
        self.input_ids: list[int] = []
        self.n_tokens = 0
        self.evaluated: list[list[int]] = []
        self.chat_handler = self._handler

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(text)

    def reset(self) -> None:
        self.n_tokens = 0

    def eval(self, tokens: list[int]) -> None:
        self.input_ids[self.n_tokens :] = tokens
        self.n_tokens += len(tokens)
        self.evaluated.append(list(tokens))

    def _handler(self, *, llama: Any, messages: list[dict[str, str]], **_: Any) -> Any:
        text = "".join(f"<{m['role']}>{m['content']}</>" for m in messages) + "<assistant>"
        return llama.create_completion(prompt=llama.tokenize(text.encode()))


def _messages(question: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Answer from the passages."},
        {"role": "user", "content": question},
    ]


def _text(tokens: list[int]) -> str:
    return bytes(tokens).decode()


def test_the_prompt_tokens_come_from_the_chat_handler_without_a_completion() -> None:
    model = CharModel()
    tokens = chat_prompt_tokens(model, _messages("Why?"))
    assert tokens is not None
    assert _text(tokens) == "<system>Answer from the passages.</><user>Why?</><assistant>"
    assert model.evaluated == []


def test_the_fixed_prefix_ends_where_the_last_message_text_begins() -> None:
    model = CharModel()
    messages = _messages("Why?")
    tokens = chat_prompt_tokens(model, messages)
    assert tokens is not None
    assert (
        _text(fixed_prefix(model, messages, tokens)) == "<system>Answer from the passages.</><user>"
    )
    assert fixed_prefix(model, messages[1:], tokens) == []  # one message: nothing fixed


def test_a_handler_that_completes_without_tokens_gives_no_prefix() -> None:
    model = CharModel()
    model.chat_handler = lambda *, llama, messages, **_: llama.create_completion(prompt="text")
    assert chat_prompt_tokens(model, _messages("Why?")) is None


def test_the_prefix_is_evaluated_alone_once_then_kept() -> None:
    model = CharModel()
    prefix = PromptPrefix()
    prefix.prepare(model, _messages("Why?"))
    assert [_text(t) for t in model.evaluated] == ["<system>Answer from the passages.</><user>"]
    model.eval(list(b"Why?</><assistant>Because."))  # what the answer evaluates after it
    prefix.prepare(model, _messages("How?"))
    assert len(model.evaluated) == 2  # nothing evaluated again
    assert prefix.reused == 1
    assert _text(model.input_ids[: model.n_tokens]) == "<system>Answer from the passages.</><user>"


def test_another_system_turn_or_a_changed_state_evaluates_the_prefix_again() -> None:
    model = CharModel()
    prefix = PromptPrefix()
    prefix.prepare(model, _messages("Why?"))
    other = [{"role": "system", "content": "Rewrite the question."}, _messages("x")[1]]
    prefix.prepare(model, other)
    assert _text(model.evaluated[-1]) == "<system>Rewrite the question.</><user>"
    model.reset()  # someone used the model directly
    prefix.prepare(model, other)
    assert len(model.evaluated) == 3 and prefix.reused == 0


@pytest.mark.slow
def test_an_answer_is_the_same_whether_its_prefix_was_kept_or_read_fresh() -> None:
    # Context sizes no other test uses: each backend loads its own model.
    first = build_answer_messages("How are packages installed?", ["Use install.packages()."] * 2)
    second = build_answer_messages(
        "Which fields must DESCRIPTION have?",
        ["The DESCRIPTION file holds the Package, Version, License and Title fields."] * 2,
    )
    kept = LlamaCppBackend(bundled_gguf(), context_size=1280, seed=5)
    assert "".join(kept.stream_chat(first, max_tokens=16, temperature=0.0))
    after_first = "".join(kept.stream_chat(second, max_tokens=32, temperature=0.0))
    with MODELS.hold(kept._key) as model:
        assert model.prefix.reused == 1
        assert len(model.prefix.tokens) > 50  # the system turn, read once
    fresh = LlamaCppBackend(bundled_gguf(), context_size=1408, seed=5)
    alone = "".join(fresh.stream_chat(second, max_tokens=32, temperature=0.0))
    assert after_first == alone
