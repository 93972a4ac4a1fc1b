"""One contract, two stores: the embedded Chroma and a real ``chroma run`` server.

Every test runs against both. The server holds every test's chunks in one
database, so each test gets its own collection; the manifest and the keyword
index live in the test's own ``index_dir`` either way.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.errors import StoreUnavailable
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import HashEmbedder, ScriptedLLM
from ingest.chunking import chunk_id_for
from ingest.scan import hash_file
from tests.helpers.chroma_server import HOST, collection_for, free_port
from tests.helpers.data import DOCS_CHUNKS, DOCS_FAILED, DOCS_GOOD
from vectorstore.chroma_client import open_chroma_client

GOOD, FAILED, CHUNKS = DOCS_GOOD, DOCS_FAILED, DOCS_CHUNKS
# Bag-of-words vectors of long chunks score low against short questions.
FLOOR = 0.1


@pytest.fixture(params=["embedded", "server"])
def store_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings overrides that select the store under test."""
    if request.param == "embedded":
        return {}
    host, port = request.getfixturevalue("chroma_server")
    return {
        "chroma_host": host,
        "chroma_port": port,
        "collection_name": collection_for(request.node.name),
    }


@pytest.fixture
def build(make_assistant, docs_copy, store_settings):
    """An assistant over a copy of tests/data/docs on the store under test."""

    def make(llm: Any = None, **overrides: Any) -> DocumentAssistant:
        return make_assistant(
            docs_copy,
            embedder=HashEmbedder(),
            llm=llm,
            relevance_floor=FLOOR,
            **store_settings,
            **overrides,
        )

    return make


def stored(assistant: DocumentAssistant) -> dict[str, dict[str, Any]]:
    got = assistant.store.collection.get(include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"], strict=True))


def ids_of(folder: Path, path: str, count: int) -> set[str]:
    content_hash = hash_file(folder / path)
    return {chunk_id_for(path, content_hash, n) for n in range(count)}


def test_first_ingest_adds_good_files_and_lists_failures(build):
    assistant = build()
    report = assistant.ingest()

    assert report.added == GOOD
    assert [f for f, _ in report.failed] == sorted(FAILED)
    for file, reason in report.failed:
        assert FAILED[file] in reason
    assert report.chunks_added == report.chunks_total == sum(CHUNKS.values())
    chunks = stored(assistant)
    assert {f: sum(1 for m in chunks.values() if m["path"] == f) for f in GOOD} == CHUNKS
    assert assistant.store.count() == sum(CHUNKS.values())


def test_server_mode_keeps_vectors_on_the_server(
    make_assistant, docs_copy, chroma_server, tmp_path
):
    host, port = chroma_server
    name = collection_for("server-mode-keeps-vectors")
    assistant = make_assistant(
        docs_copy, embedder=HashEmbedder(), chroma_host=host, chroma_port=port, collection_name=name
    )
    assistant.ingest()
    independent = open_chroma_client(host=host, port=port)
    assert independent.get_collection(name).count() == sum(CHUNKS.values())
    assert not (tmp_path / "index" / "chroma").exists()
    assert assistant.status().store == f"chroma server {host}:{port}"


def test_incremental_sync_reports_exactly_what_changed(build, docs_copy):
    assistant = build()
    assistant.ingest()
    before = set(stored(assistant))
    old = (
        ids_of(docs_copy, "table.csv", 1)
        | ids_of(docs_copy, "page.html", 1)
        | ids_of(docs_copy, "book.epub", 1)
    )
    with (docs_copy / "table.csv").open("a", encoding="utf-8") as handle:
        handle.write("Oslo,Norway,709037\n")  # modify
    (docs_copy / "page.html").unlink()  # delete
    (docs_copy / "sub").mkdir()
    shutil.move(docs_copy / "book.epub", docs_copy / "sub" / "novel.epub")  # move + rename
    (docs_copy / "new.md").write_text("# Fresh\n\nA brand new note about otters.\n")  # add

    report = assistant.ingest()

    assert report.added == ["new.md"]
    assert report.updated == ["table.csv"]
    assert report.moved == [("book.epub", "sub/novel.epub")]
    assert report.deleted == ["page.html"]
    assert report.unchanged == len(GOOD) - 3
    assert (report.chunks_added, report.chunks_reused, report.chunks_total) == (
        2,
        1,
        sum(CHUNKS.values()),
    )
    after = set(stored(assistant))
    assert after - before == (
        ids_of(docs_copy, "table.csv", 1)
        | ids_of(docs_copy, "new.md", 1)
        | ids_of(docs_copy, "sub/novel.epub", 1)
    )
    assert before - after == old


def test_unchanged_resync_embeds_nothing(build):
    build().ingest()
    again = build()
    report = again.ingest()
    assert report.unchanged == len(GOOD) and not report.changed
    assert again.embedder.calls == []
    assert again.store.count() == sum(CHUNKS.values())


@pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
def test_search_finds_an_exact_fact(build, mode):
    assistant = build()
    assistant.ingest()
    top = assistant.search("green tea steep degrees Celsius", k=1, mode=mode)
    assert [(h.file, h.page) for h in top] == [("page.html", None)]
    assert "Green tea should steep at 80 degrees Celsius." in top[0].text


def test_ask_cites_the_page_that_holds_the_fact(build):
    llm = ScriptedLLM(["It runs at 451 kelvin [1]."])
    assistant = build(llm=llm)
    assistant.ingest()
    answer = assistant.ask("Zorblax reactor core temperature kelvin")
    assert answer.found and answer.text == "It runs at 451 kelvin [1]."
    assert answer.cited == (1,)
    assert (answer.sources[0].file, answer.sources[0].page) == ("manual.pdf", 2)
    assert [s.label for s in answer.cited_sources] == ["manual.pdf:2"]
    assert '<passage n="1" file="manual.pdf" page="2">' in llm.prompts[0][1]["content"]


def test_reset_empties_the_collection(build):
    assistant = build()
    assistant.ingest()
    assistant.reset()
    assert assistant.store.count() == 0
    assert assistant.search("green tea steep degrees Celsius", k=1, mode="vector") == []
    assert assistant.ingest().added == GOOD


def test_unreachable_server_is_store_unavailable_naming_host_and_port(tmp_path):
    port = free_port()  # nothing listens there
    with pytest.raises(StoreUnavailable, match=f"{HOST}:{port}"):
        open_chroma_client(host=HOST, port=port)
    settings = Settings(
        documents_dir=tmp_path / "docs",
        index_dir=tmp_path / "index",
        chroma_host=HOST,
        chroma_port=port,
    )
    with pytest.raises(StoreUnavailable, match=f"cannot open Chroma at {HOST}:{port}"):
        DocumentAssistant.from_settings(settings, llm=ScriptedLLM(), embedder=HashEmbedder())
