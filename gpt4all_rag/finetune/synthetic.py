"""Synthetic examples: a seed question through the real retrieval and the real prompt.

The prompt is built by the question flow itself (:class:`QuestionFlow` ``plan``,
``retrieve`` and ``prompt``: the same search, the same best passages, the same focus
and the same :func:`~gpt4all_rag.answering.prompts.build_answer_prompt`), so training
matches what the model reads when it answers. The target answer is the seed's sentence
as it stands in the passage the model was given, with that passage's ``[n]``, and
nothing after it. A seed whose sentence did not reach the prompt is dropped: the model
is never taught to state what its passages do not say.

With ``balance`` the passage that holds the sentence is moved to the first, second,
third… place in turn. The retrieval ranks a seed's own passage first nearly always
(77 of 93 examples of the first recipe cited [1]), which teaches quoting passage [1],
not choosing the passage that answers.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from gpt4all_rag.answering.flow import Question
from gpt4all_rag.answering.prompts import BuiltPrompt
from gpt4all_rag.finetune.data import TrainingExample
from gpt4all_rag.finetune.questions import Seed
from gpt4all_rag.types import Message

if TYPE_CHECKING:
    from gpt4all_rag.assistant.single import DocumentAssistant
    from vectorstore.passage import Passage

__all__ = [
    "PromptOnlyLLM",
    "cite",
    "choose_seeds",
    "move_source",
    "real_prompt",
    "synthetic_examples",
    "target_answer",
]

_SPACE = re.compile(r"\s+")


class PromptOnlyLLM:
    """A backend that only counts tokens: the flow builds its prompt, nothing generates."""

    name = "prompt-only"

    def __init__(self, count_tokens: Callable[[str], int], context_size: int) -> None:
        self._count = count_tokens
        self._context_size = context_size

    @property
    def context_size(self) -> int:
        """The model's context window."""
        return self._context_size

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's own tokenizer."""
        return self._count(text)

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Never called: examples take their answer from the seed."""
        raise RuntimeError("the prompt-only backend does not generate")


def _flat(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def cite(sentence: str, number: int) -> str:
    """The sentence with its marker before its final stop, as in ``… CRAN [2].``."""
    body = sentence.rstrip()
    stop = body[-1] if body.endswith((".", "!", "?")) else "."
    return f"{body.rstrip('.!?').rstrip()} [{number}]{stop}"


def target_answer(sentence: str, prompt: BuiltPrompt, sentences: int = 1) -> str | None:
    """The cited sentence if one of the prompt's passages holds it whole, else None.

    With ``sentences=2`` the passage's next sentence follows it (when there is one),
    each with the marker: an answer of one or two sentences.
    """
    wanted = _flat(sentence)
    for number, passage in zip(prompt.numbers, prompt.passages, strict=True):
        text = _flat(passage.text)
        at = text.find(wanted)
        if at < 0:
            continue
        answer = cite(wanted, number)
        following = _next_sentence(text[at + len(wanted) :]) if sentences > 1 else None
        return answer if following is None else f"{answer} {cite(following, number)}"
    return None


_NEXT = re.compile(r"^\s*([A-Z`(][^…]{20,240}?[.!?])(?=\s|$)")


def _next_sentence(rest: str) -> str | None:
    """The whole sentence that starts ``rest``, if there is one (not cut by the focus)."""
    match = _NEXT.match(rest)
    return match.group(1) if match else None


def real_prompt(
    assistant: DocumentAssistant, question: str, source: tuple[str, int] | None = None
) -> BuiltPrompt | None:
    """The prompt the assistant's model would get for ``question`` (None: nothing found).

    ``source`` (a sentence, a place from 0) moves the passage holding the sentence there.
    """
    flow = assistant.flow
    asked = Question(question)
    retrieval = flow.retrieve(asked, flow.plan(asked))
    if source is not None:
        moved = move_source(retrieval.passages, *source)
        retrieval = dataclasses.replace(retrieval, passages=moved)
    return flow.prompt(retrieval)


def move_source(passages: Sequence[Passage], sentence: str, place: int) -> tuple[Passage, ...]:
    """The passages with the first one holding ``sentence`` at index ``place``.

    The others keep their order; without such a passage nothing moves.
    """
    wanted = _flat(sentence)
    for index, passage in enumerate(passages):
        if wanted in _flat(passage.text):
            rest = [*passages[:index], *passages[index + 1 :]]
            rest.insert(min(place, len(rest)), passage)
            return tuple(rest)
    return tuple(passages)


def choose_seeds(seeds: Sequence[Seed], limit: int, seed: int = 0) -> list[Seed]:
    """Up to ``limit`` seeds, shuffled, one question text once, every kind represented."""
    unique = list({s.question.casefold(): s for s in seeds}.values())
    random.Random(seed).shuffle(unique)
    kinds: dict[str, list[Seed]] = {}
    for item in unique:
        kinds.setdefault(item.kind, []).append(item)
    chosen: list[Seed] = []
    while len(chosen) < limit and any(kinds.values()):
        for queue in kinds.values():  # round robin, so one kind cannot crowd out the others
            if queue and len(chosen) < limit:
                chosen.append(queue.pop())
    return chosen


def synthetic_examples(
    assistant: DocumentAssistant,
    seeds: Sequence[Seed],
    progress: Callable[[int, int], None] | None = None,
    sentences: int = 1,
    balance: bool = False,
) -> Iterator[TrainingExample]:
    """An example for each seed whose sentence reaches the model's prompt.

    ``balance``: the seed's passage goes to each of the places the model reads in turn.
    """
    places = assistant.settings.read_passages or assistant.settings.top_k
    for done, item in enumerate(seeds, start=1):
        source = (item.sentence, (done - 1) % max(1, places)) if balance else None
        prompt = real_prompt(assistant, item.question, source)
        answer = None
        if prompt is not None and prompt.passages:
            answer = target_answer(item.sentence, prompt, sentences)
        if progress is not None:
            progress(done, len(seeds))
        if prompt is not None and answer is not None:
            yield TrainingExample(tuple(prompt.messages), answer, item.kind, item.file, item.page)
