"""The training set of one or more collections: their feedback, then synthetic examples.

Only the collections named are read (their chunks and their feedback files), and the
set is written inside the first one's index folder. Files can be held out by name, so
that documents a figure is measured on never become training data.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.finetune.data import TrainingExample, feedback_examples
from gpt4all_rag.finetune.questions import seeds_from_chunks
from gpt4all_rag.finetune.synthetic import PromptOnlyLLM, choose_seeds, synthetic_examples
from gpt4all_rag.index.registry import resolve_collection
from gpt4all_rag.settings import Settings

__all__ = ["DataOptions", "build_dataset"]


@dataclass(frozen=True)
class DataOptions:
    """What goes into the training set."""

    synthetic: int = 400  # synthetic seeds tried at most (those reaching the prompt are kept)
    feedback: bool = True
    held_out: Collection[str] = ()  # file names never used (the documents a figure is measured on)
    seed: int = 0
    answer_sentences: int = 1  # 2: the source sentence and the one after it
    balance: bool = False  # the source passage at each place the model reads, in turn


def collection_settings(settings: Settings, name: str) -> Settings:
    """The settings of collection ``name``, with the model writing (so the flow builds prompts)."""
    named = settings.model_copy(update={"collection": name, "answer_style": "both"})
    return resolve_collection(named)


def _held_out(file: str, held_out: Collection[str]) -> bool:
    return Path(file).name in held_out


def build_dataset(
    settings: Settings,
    collections: Sequence[str],
    count_tokens: Callable[[str], int],
    options: DataOptions = DataOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> list[TrainingExample]:
    """The examples of ``collections``: liked answers first, then synthetic ones."""
    examples: list[TrainingExample] = []
    per_collection = max(1, options.synthetic // max(1, len(collections)))
    for name in collections:
        resolved = collection_settings(settings, name)
        if options.feedback:
            examples += feedback_examples(resolved.index_dir)
        llm = PromptOnlyLLM(count_tokens, resolved.context_size)
        assistant = DocumentAssistant.from_settings(resolved, llm=llm)
        chunks = [
            (record.text, record.metadata)
            for record in assistant.store.iter_all()
            if not _held_out(str(record.metadata.get("path", "")), options.held_out)
        ]
        seeds = choose_seeds(list(seeds_from_chunks(chunks)), per_collection, options.seed)
        made = synthetic_examples(
            assistant, seeds, progress, options.answer_sentences, options.balance
        )
        examples += [e for e in made if not _held_out(e.file, options.held_out)]
    return examples
