"""The training data: liked answers from the feedback file, and synthetic examples
built through the real retrieval and prompt (tests/data/docs, the fakes)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

from gpt4all_rag.answering.prompts import SYSTEM_PROMPT, BuiltPrompt
from gpt4all_rag.documents.feedback import FeedbackStore
from gpt4all_rag.finetune.data import (
    FEEDBACK_FILE,
    TrainingExample,
    feedback_examples,
    origins,
    read_examples,
    write_examples,
)
from gpt4all_rag.finetune.questions import Seed, seeds_from_chunks
from gpt4all_rag.finetune.synthetic import (
    choose_seeds,
    cite,
    move_source,
    real_prompt,
    synthetic_examples,
    target_answer,
)
from vectorstore.passage import Passage


def _fixed_clock() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


def test_liked_answers_become_examples_in_the_real_prompt_format(tmp_path):
    store = FeedbackStore(tmp_path / FEEDBACK_FILE, clock=_fixed_clock)
    store.record("What is X?", ["X is a thing."], "X is a thing [1].", 1)
    store.record("What is Y?", ["Y is other."], "No idea.", -1)
    examples = feedback_examples(tmp_path)
    assert [e.answer for e in examples] == ["X is a thing [1]."]
    (example,) = examples
    assert example.origin == "feedback"
    assert example.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert '<passage n="1">\nX is a thing.\n</passage>' in example.messages[1]["content"]
    assert example.chat()[-1] == {"role": "assistant", "content": "X is a thing [1]."}


def test_no_feedback_file_gives_no_examples(tmp_path):
    assert feedback_examples(tmp_path) == []


def test_examples_round_trip_and_stay_private(tmp_path):
    example = TrainingExample(
        ({"role": "system", "content": "s"}, {"role": "user", "content": "q"}),
        "a [1].",
        "how-to",
        "R-intro.pdf",
        3,
    )
    path = tmp_path / "finetune" / "data.jsonl"
    assert write_examples(path, [example, example]) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    row = json.loads(path.read_text().splitlines()[0])
    assert row["messages"][-1] == {"role": "assistant", "content": "a [1]."}  # chat JSONL
    assert read_examples(path) == [example, example]
    assert origins([example]) == {"how-to": 1}


def _passage(text: str) -> Passage:
    return Passage("id", text, {"path": "a.pdf", "page": 2}, 1.0, 1.0)  # type: ignore[arg-type]


def test_the_target_is_the_sentence_with_the_number_of_the_passage_that_holds_it():
    prompt = BuiltPrompt(
        [], [_passage("Nothing here."), _passage("Use  q()\nto quit R. More text.")], [1, 3]
    )
    assert target_answer("Use q() to quit R.", prompt) == "Use q() to quit R [3]."
    assert target_answer("Not in any passage.", prompt) is None
    assert cite("Is it so?", 2) == "Is it so [2]?"


def test_seed_choice_is_repeatable_and_mixes_kinds():
    seeds = [Seed(f"q{i}?", "s.", "f", 1, "how-to") for i in range(10)]
    seeds += [Seed("h?", "s.", "f", 1, "heading")]
    chosen = choose_seeds(seeds, 4, seed=1)
    assert len(chosen) == 4 and "heading" in {s.kind for s in chosen}
    assert chosen == choose_seeds(seeds, 4, seed=1)


GUIDE = """# Using the console

This guide covers the console of the program and its commands.
To stop the program, type quit() at the prompt of the console.
The function plot.window() sets up the coordinate system of a new plot.
Widgets are drawn in the order in which they were declared by the script.
"""


def test_synthetic_examples_use_the_flow_prompt(tmp_path, make_assistant):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(GUIDE, encoding="utf-8")
    assistant = make_assistant(docs)
    assistant.ingest()
    chunks = [(r.text, r.metadata) for r in assistant.store.iter_all()]
    seeds = list(seeds_from_chunks(chunks))
    assert {s.question for s in seeds} >= {
        "How do I stop the program?",
        "How do I use the console?",
        "Which function sets up the coordinate system of a new plot?",
    }
    examples = list(synthetic_examples(assistant, seeds))
    assert examples
    for example in examples:
        assert example.messages == tuple(real_prompt(assistant, _question(example)).messages)
        assert example.answer.endswith("].")
        assert example.file == "guide.md"
    answers = {e.answer for e in examples}
    assert "To stop the program, type quit() at the prompt of the console [1]." in answers


def _question(example: TrainingExample) -> str:
    return example.messages[1]["content"].rsplit("Question: ", 1)[1]


def _numbered(n: int, text: str) -> Passage:
    return Passage(f"id{n}", text, {"path": f"f{n}.md", "page": 1}, 1.0 - n / 10, 0.5)


def test_move_source_puts_the_passage_holding_the_sentence_at_the_place_asked():
    passages = [
        _numbered(0, "Alpha one. Beta two."),
        _numbered(1, "Gamma   three."),
        _numbered(2, "Delta four."),
    ]
    moved = move_source(passages, "Alpha one.", 2)
    assert [p.id for p in moved] == ["id1", "id2", "id0"]  # the others keep their order
    assert [p.id for p in move_source(passages, "Gamma three.", 0)] == ["id1", "id0", "id2"]
    assert [p.id for p in move_source(passages, "Alpha one.", 9)] == ["id1", "id2", "id0"]
    assert move_source(passages, "Nowhere said.", 0) == tuple(passages)


TOPICS = {
    "kettles.md": "# Kettles\n\nTo boil water for tea, fill the kettle and switch it on.\n",
    "teapots.md": "# Teapots\n\nWarm the teapot with hot water before the tea goes in.\n",
    "cups.md": "# Cups\n\nTea tastes best from a cup that was warmed with hot water.\n",
}


def test_balanced_examples_cite_every_place_the_model_reads(tmp_path, make_assistant):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TOPICS.items():
        (docs / name).write_text(text, encoding="utf-8")
    assistant = make_assistant(docs, relevance_floor=-1.0, abstain_similarity=-1.0)
    assistant.ingest()
    sentences = [text.split("\n\n")[1].strip() for text in TOPICS.values()]
    seeds = [
        Seed(f"How do I get hot water for tea {n}?", sentence, name, 1, "how-to")
        for n, (name, sentence) in enumerate(zip(TOPICS, sentences * 2, strict=False))
    ] * 2
    plain = [e.answer[-4:] for e in synthetic_examples(assistant, seeds)]
    balanced = [e.answer[-4:] for e in synthetic_examples(assistant, seeds, balance=True)]
    assert len(balanced) == len(seeds)
    assert set(balanced) == {"[1].", "[2].", "[3]."}  # the places 1, 2, 3 in turn
    assert balanced[:3] == ["[1].", "[2].", "[3]."]
    assert balanced != plain
