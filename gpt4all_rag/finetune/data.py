"""Training examples: chat conversations in the real prompt format, kept in the index folder.

An example is the messages the model gets when it answers (system, passages and
question) followed by the answer it should give. Two sources: the person's thumbs-up
answers (:mod:`gpt4all_rag.documents.feedback`, opt-in) and synthetic examples built from
the indexed documents (:mod:`gpt4all_rag.finetune.synthetic`). The files hold passages
of the person's documents, so they are written readable by their owner only, like the
feedback file itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gpt4all_rag.documents.feedback import FeedbackStore, finetune_example
from gpt4all_rag.types import Message

__all__ = [
    "FEEDBACK_FILE",
    "FINETUNE_FOLDER",
    "TrainingExample",
    "feedback_examples",
    "origins",
    "read_examples",
    "write_examples",
]

# The app's feedback panel writes its ratings here, inside the index folder.
FEEDBACK_FILE = "feedback.jsonl"
# Training data, checkpoints and adapters stay inside the index folder, under this name.
FINETUNE_FOLDER = "finetune"


@dataclass(frozen=True)
class TrainingExample:
    """One conversation to learn from: the prompt messages, then the wanted answer."""

    messages: tuple[Message, ...]
    answer: str
    origin: str  # "feedback", or the synthetic seed's kind (how-to, naming, heading)
    file: str = ""
    page: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def chat(self) -> list[Message]:
        """The whole conversation, the answer as the assistant's turn."""
        return [*self.messages, {"role": "assistant", "content": self.answer}]

    def to_json(self) -> dict[str, Any]:
        """One JSONL line: ``messages`` in the chat fine-tuning format, and where it came from."""
        row = asdict(self)
        row["messages"] = self.chat()
        del row["answer"]
        return row

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> TrainingExample:
        """The inverse of :meth:`to_json`."""
        *messages, last = row["messages"]
        if last.get("role") != "assistant":
            raise ValueError("a training conversation ends with the assistant's answer")
        return cls(
            messages=tuple({"role": m["role"], "content": m["content"]} for m in messages),
            answer=str(last["content"]),
            origin=str(row.get("origin", "")),
            file=str(row.get("file", "")),
            page=row.get("page"),
            extra=dict(row.get("extra") or {}),
        )


def feedback_examples(index_dir: Path) -> list[TrainingExample]:
    """The person's liked answers in ``index_dir``'s feedback file (none if there is none)."""
    store = FeedbackStore(Path(index_dir) / FEEDBACK_FILE)
    examples = []
    for entry in store.liked():
        *messages, answer = finetune_example(entry)["messages"]
        examples.append(TrainingExample(tuple(messages), answer["content"], "feedback"))
    return examples


def write_examples(path: Path, examples: Iterable[TrainingExample]) -> int:
    """Write examples as JSONL, readable by the owner only; return how many."""
    lines = [json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in examples]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(lines))
    return len(lines)


def read_examples(path: Path) -> list[TrainingExample]:
    """Examples written by :func:`write_examples` (or any chat fine-tuning JSONL)."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [TrainingExample.from_json(row) for row in rows]


def origins(examples: Sequence[TrainingExample]) -> dict[str, int]:
    """How many examples came from each source, for the training record."""
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.origin] = counts.get(example.origin, 0) + 1
    return counts
