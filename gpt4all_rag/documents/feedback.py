"""Thumbs up / down on answers, kept in a local JSONL file (opt-in, never sent anywhere).

The liked answers can be exported in the chat fine-tuning format (one
``{"messages": [...]}`` object per line) that most fine-tuning tools read.
Ratings hold questions and passages from the user's documents, so both files
are created readable by their owner only (mode 0600).
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpt4all_rag.answering.prompts import build_answer_messages

__all__ = ["FeedbackEntry", "FeedbackStore", "finetune_example"]

_RATINGS = (1, -1)
_OWNER_ONLY = 0o600


@dataclass(frozen=True)
class FeedbackEntry:
    """One rating: the question, the passages the model saw, its answer, +1 or -1."""

    question: str
    context: tuple[str, ...]
    answer: str
    rating: int
    recorded_at: str

    def to_json(self) -> dict[str, Any]:
        """One JSONL line's object."""
        return {**asdict(self), "context": list(self.context)}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FeedbackStore:
    """Append-only ratings in a JSONL file, e.g. ``settings.index_dir / "feedback.jsonl"``.

    Args:
        path: the JSONL file; created (with its folder) on the first rating.
        clock: the time source for ``recorded_at`` (tests pass a fixed one).
    """

    def __init__(self, path: Path, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()

    def record(
        self, question: str, context: Sequence[str], answer: str, rating: int
    ) -> FeedbackEntry:
        """Append one rating (+1 thumbs up, -1 thumbs down) and return it."""
        if rating not in _RATINGS:
            raise ValueError(f"rating must be +1 or -1, not {rating!r}")
        stamp = self._clock().isoformat(timespec="seconds")
        entry = FeedbackEntry(question, tuple(context), answer, rating, stamp)
        line = json.dumps(entry.to_json(), ensure_ascii=False) + "\n"
        with self._lock, _open_owner_only(self.path, os.O_APPEND) as handle:
            handle.write(line)
        return entry

    def entries(self) -> list[FeedbackEntry]:
        """Every rating, oldest first; a line a crash cut short is skipped."""
        if not self.path.is_file():
            return []
        with self._lock:  # not half of a line being appended by this process
            lines = self.path.read_text(encoding="utf-8").splitlines()
        return [entry for line in lines if (entry := _parse(line)) is not None]

    def liked(self) -> list[FeedbackEntry]:
        """The answers whose latest rating is a thumbs up, once each, oldest first.

        Rating the same answer again replaces the earlier rating, so an answer
        first liked and then disliked is not exported.
        """
        latest: dict[tuple[str, tuple[str, ...], str], FeedbackEntry] = {}
        for entry in self.entries():
            key = (entry.question, entry.context, entry.answer)
            latest.pop(key, None)  # re-insert, so the order is that of the latest rating
            latest[key] = entry
        return [entry for entry in latest.values() if entry.rating == 1]

    def export_finetune(self, out: Path) -> int:
        """Write the liked answers to ``out`` as chat fine-tuning JSONL; return how many."""
        liked = self.liked()
        lines = [json.dumps(finetune_example(e), ensure_ascii=False) + "\n" for e in liked]
        with _open_owner_only(Path(out), os.O_TRUNC) as handle:
            handle.write("".join(lines))
        return len(lines)


def _open_owner_only(path: Path, mode_flag: int) -> io.TextIOWrapper:
    """``path`` opened for writing (``O_APPEND`` or ``O_TRUNC``), readable by its owner only.

    A new file is created with mode 0600 (and a new folder 0700); an existing
    one made by an earlier version with the umask's mode is narrowed to 0600.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | mode_flag, _OWNER_ONLY)
    try:
        os.fchmod(fd, _OWNER_ONLY)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "w", encoding="utf-8")


def finetune_example(entry: FeedbackEntry) -> dict[str, list[dict[str, str]]]:
    """One training conversation: the prompt the model got, then the answer it gave.

    The prompt is built by the same function as the real one (passages numbered
    and escaped, control tokens neutralized), so fine-tuning data cannot drift
    from what the model sees when it answers.
    """
    messages = build_answer_messages(entry.question, entry.context)
    return {"messages": [*messages, {"role": "assistant", "content": entry.answer}]}


def _parse(line: str) -> FeedbackEntry | None:
    """A stored line as an entry, or None if it is blank or malformed."""
    try:
        raw = json.loads(line)
        return FeedbackEntry(
            question=str(raw["question"]),
            context=tuple(str(c) for c in raw["context"]),
            answer=str(raw["answer"]),
            rating=int(raw["rating"]),
            recorded_at=str(raw["recorded_at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
