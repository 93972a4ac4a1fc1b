"""Local, opt-in feedback: the JSONL file, and the export for chat fine-tuning."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gpt4all_rag import FeedbackEntry, FeedbackStore
from gpt4all_rag.answering.prompts import SYSTEM_PROMPT

NOON = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
QUESTION = "How hot is the Zorblax core?"
CONTEXT = [
    "The Zorblax reactor operates at a core temperature of 451 kelvin.",
    "Maintenance: 17 days.",
]
ANSWER = "It runs at 451 kelvin [1]."


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "index" / "feedback.jsonl", clock=lambda: NOON)


def test_record_appends_one_json_line(store: FeedbackStore) -> None:
    entry = store.record(QUESTION, CONTEXT, ANSWER, 1)

    assert entry == FeedbackEntry(QUESTION, tuple(CONTEXT), ANSWER, 1, "2025-03-14T12:00:00+00:00")
    lines = store.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "question": QUESTION,
            "context": CONTEXT,
            "answer": ANSWER,
            "rating": 1,
            "recorded_at": "2025-03-14T12:00:00+00:00",
        }
    ]


def test_entries_read_back_in_order(store: FeedbackStore) -> None:
    store.record("q1", ["c1"], "a1", 1)
    store.record("q2", [], "a2", -1)

    assert store.entries() == [
        FeedbackEntry("q1", ("c1",), "a1", 1, "2025-03-14T12:00:00+00:00"),
        FeedbackEntry("q2", (), "a2", -1, "2025-03-14T12:00:00+00:00"),
    ]


def test_no_file_means_no_entries(store: FeedbackStore) -> None:
    assert store.entries() == []
    assert not store.path.exists()


def test_a_line_cut_short_by_a_crash_is_skipped(store: FeedbackStore) -> None:
    store.record("q1", ["c1"], "a1", 1)
    with store.path.open("a", encoding="utf-8") as handle:
        handle.write('{"question": "q2", "cont')

    assert [e.question for e in store.entries()] == ["q1"]


@pytest.mark.parametrize("rating", [0, 2, -2, 5])
def test_rating_must_be_plus_or_minus_one(store: FeedbackStore, rating: int) -> None:
    with pytest.raises(ValueError, match="rating must be \\+1 or -1"):
        store.record(QUESTION, CONTEXT, ANSWER, rating)
    assert not store.path.exists()


def test_non_ascii_text_is_kept_readable(store: FeedbackStore) -> None:
    store.record("Où est le café ?", ["Le café de la Mère Brûlée"], "À Lyon.", 1)

    assert "Où est le café ?" in store.path.read_text(encoding="utf-8")
    assert store.entries()[0].answer == "À Lyon."


def test_export_writes_liked_answers_in_chat_format(store: FeedbackStore, tmp_path: Path) -> None:
    store.record(QUESTION, CONTEXT, ANSWER, 1)
    store.record("Bad question?", ["x"], "Bad answer.", -1)
    out = tmp_path / "export" / "finetune.jsonl"

    written = store.export_finetune(out)

    assert written == 1
    user = (
        '<passage n="1">\nThe Zorblax reactor operates at a core temperature of 451 kelvin.\n'
        '</passage>\n\n<passage n="2">\nMaintenance: 17 days.\n</passage>\n\n'
        "Question: How hot is the Zorblax core?"
    )
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == [
        {
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user},
                {"role": "assistant", "content": ANSWER},
            ]
        }
    ]


def test_export_uses_the_latest_rating_of_an_answer(store: FeedbackStore, tmp_path: Path) -> None:
    store.record("liked then disliked", [], "a1", 1)
    store.record("disliked then liked", [], "a2", -1)
    store.record("liked then disliked", [], "a1", -1)
    store.record("disliked then liked", [], "a2", 1)
    store.record("liked twice", [], "a3", 1)
    store.record("liked twice", [], "a3", 1)
    out = tmp_path / "finetune.jsonl"

    assert store.export_finetune(out) == 2
    users = [json.loads(line)["messages"][1]["content"] for line in out.read_text().splitlines()]
    assert users == ["Question: disliked then liked", "Question: liked twice"]


def test_export_with_nothing_liked_writes_an_empty_file(
    store: FeedbackStore, tmp_path: Path
) -> None:
    store.record(QUESTION, CONTEXT, ANSWER, -1)
    out = tmp_path / "finetune.jsonl"

    assert store.export_finetune(out) == 0
    assert out.read_text(encoding="utf-8") == ""


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_ratings_and_export_are_readable_by_their_owner_only(
    store: FeedbackStore, tmp_path: Path
) -> None:
    old_umask = os.umask(0o022)  # a umask that would make new files world-readable
    try:
        store.record(QUESTION, CONTEXT, ANSWER, 1)
        store.export_finetune(tmp_path / "out" / "finetune.jsonl")
    finally:
        os.umask(old_umask)

    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700
    assert mode(tmp_path / "out" / "finetune.jsonl") == 0o600


def test_a_world_readable_file_from_before_is_narrowed(
    store: FeedbackStore, tmp_path: Path
) -> None:
    store.path.parent.mkdir()
    store.path.write_text("")
    store.path.chmod(0o644)
    export = tmp_path / "finetune.jsonl"
    export.write_text("old")
    export.chmod(0o644)

    store.record(QUESTION, CONTEXT, ANSWER, 1)
    store.export_finetune(export)

    assert (mode(store.path), mode(export)) == (0o600, 0o600)
    assert [e.question for e in store.entries()] == [QUESTION]
