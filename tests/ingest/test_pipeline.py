"""The incremental sync on a real Chroma in a temp folder, with a hand-computable embedder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gpt4all_rag.errors import IndexLocked, IndexMismatch
from gpt4all_rag.testing import HashEmbedder
from ingest.chunking import chunk_id_for
from ingest.scan import hash_file
from tests.helpers.data import DOCS_CHUNKS, DOCS_FAILED, DOCS_GOOD

GOOD, FAILED, CHUNKS = DOCS_GOOD, DOCS_FAILED, DOCS_CHUNKS


def stored(assistant) -> dict[str, dict]:
    got = assistant.store.collection.get(include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"], strict=True))


def ids_of(folder: Path, path: str, count: int) -> set[str]:
    content_hash = hash_file(folder / path)
    return {chunk_id_for(path, content_hash, n) for n in range(count)}


def test_first_ingest_indexes_good_files_and_lists_failures(docs_copy, make_assistant):
    embedder = HashEmbedder()
    assistant = make_assistant(docs_copy, embedder=embedder)
    report = assistant.ingest()

    assert report.added == GOOD
    assert [f for f, _ in report.failed] == sorted(FAILED)
    for file, reason in report.failed:
        assert FAILED[file] in reason
    assert report.chunks_added == report.chunks_total == sum(CHUNKS.values())
    chunks = stored(assistant)
    assert len(chunks) == sum(CHUNKS.values())
    per_file = {f: sum(1 for m in chunks.values() if m["path"] == f) for f in GOOD}
    assert per_file == CHUNKS
    assert embedder.texts_embedded == sum(CHUNKS.values())


def test_metadata_keeps_page_offsets_and_hash(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    got = assistant.store.collection.get(
        where={"path": "manual.pdf"}, include=["metadatas", "documents"]
    )
    by_page = {m["page"]: (m, t) for m, t in zip(got["metadatas"], got["documents"], strict=True)}
    assert sorted(by_page) == [1, 2, 3]
    meta, text = by_page[2]
    assert "451 kelvin" in text
    assert meta["source"] == "manual.pdf" and meta["ext"] == ".pdf" and meta["folder"] == ""
    assert meta["hash"] == hash_file(docs_copy / "manual.pdf")
    assert meta["chunk"] == 1 and meta["start"] == 0 and meta["end"] == len(text)
    assert set(got["ids"]) == ids_of(docs_copy, "manual.pdf", 3)
    notes = assistant.store.collection.get(where={"path": "notes.md"}, include=["metadatas"])
    assert all("page" not in m for m in notes["metadatas"])
    assert sorted(m["chunk"] for m in notes["metadatas"]) == [0, 1, 2, 3, 4]


def test_incremental_sync_touches_only_what_changed(docs_copy, make_assistant):
    embedder = HashEmbedder()
    assistant = make_assistant(docs_copy, embedder=embedder)
    assistant.ingest()
    before = set(stored(assistant))
    old_table = ids_of(docs_copy, "table.csv", 1)
    old_page = ids_of(docs_copy, "page.html", 1)
    old_book = ids_of(docs_copy, "book.epub", 1)

    with (docs_copy / "table.csv").open("a", encoding="utf-8") as handle:
        handle.write("Oslo,Norway,709037\n")  # modify
    (docs_copy / "page.html").unlink()  # delete
    (docs_copy / "sub").mkdir()
    shutil.move(docs_copy / "book.epub", docs_copy / "sub" / "novel.epub")  # move + rename
    (docs_copy / "new.md").write_text("# Fresh\n\nA brand new note about otters.\n")  # add
    embedder.calls.clear()

    report = assistant.ingest()

    assert report.added == ["new.md"]
    assert report.updated == ["table.csv"]
    assert report.moved == [("book.epub", "sub/novel.epub")]
    assert report.deleted == ["page.html"]
    assert report.unchanged == len(GOOD) - 3
    assert report.chunks_reused == 1
    after = set(stored(assistant))
    added_ids = (
        ids_of(docs_copy, "table.csv", 1)
        | ids_of(docs_copy, "new.md", 1)
        | ids_of(docs_copy, "sub/novel.epub", 1)
    )
    assert after - before == added_ids
    assert before - after == old_table | old_page | old_book
    # Only the changed and the new file were embedded; the moved one kept its vectors.
    embedded = [t for call in embedder.calls for t in call]
    assert len(embedded) == 2
    assert any("Oslo" in t for t in embedded) and any("otters" in t for t in embedded)
    moved = assistant.store.collection.get(where={"path": "sub/novel.epub"}, include=["metadatas"])
    assert (
        moved["metadatas"][0]["folder"] == "sub" and moved["metadatas"][0]["source"] == "novel.epub"
    )


def test_unchanged_resync_parses_nothing_and_never_loads_the_model(docs_copy, make_assistant):
    make_assistant(docs_copy, embedder=HashEmbedder()).ingest()
    again = make_assistant(docs_copy, embedder=HashEmbedder())
    report = again.ingest()
    assert report.unchanged == len(GOOD)
    assert report.added == report.updated == report.deleted == [] and report.moved == []
    assert report.chunks_added == 0 and report.stages["parse"] == 0.0
    assert again.embedder.calls == []
    # failures are remembered, not re-parsed, and still reported
    assert [f for f, _ in report.failed] == sorted(FAILED)


def test_touched_file_with_same_content_is_not_reembedded(docs_copy, make_assistant):
    embedder = HashEmbedder()
    assistant = make_assistant(docs_copy, embedder=embedder)
    assistant.ingest()
    os.utime(docs_copy / "notes.md", ns=(1, 1))
    embedder.calls.clear()
    report = assistant.ingest()
    assert report.unchanged == len(GOOD) and embedder.calls == []


def test_copied_file_reuses_vectors(docs_copy, make_assistant):
    embedder = HashEmbedder()
    assistant = make_assistant(docs_copy, embedder=embedder)
    assistant.ingest()
    shutil.copy(docs_copy / "manual.pdf", docs_copy / "manual-copy.pdf")
    embedder.calls.clear()
    report = assistant.ingest()
    assert report.added == ["manual-copy.pdf"] and report.chunks_reused == 3
    assert embedder.calls == []
    assert set(stored(assistant)) >= ids_of(docs_copy, "manual-copy.pdf", 3)


def test_a_corrupted_update_keeps_the_indexed_version(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    old = ids_of(docs_copy, "manual.pdf", 3)
    (docs_copy / "manual.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf any more")
    report = assistant.ingest()
    assert [f for f, _ in report.failed if f == "manual.pdf"] == ["manual.pdf"]
    assert old <= set(stored(assistant))


def test_second_writer_is_refused(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    with assistant.indexer._writer_lock(), pytest.raises(IndexLocked):
        make_assistant(docs_copy, embedder=HashEmbedder()).ingest()


def test_another_embedding_model_is_refused(docs_copy, make_assistant):
    make_assistant(docs_copy, embedder=HashEmbedder()).ingest()

    class Other(HashEmbedder):
        name = "other-model"

    with pytest.raises(IndexMismatch, match="hash-embedder"):
        make_assistant(docs_copy, embedder=Other()).ingest()


def test_changed_chunking_rechunks_everything(docs_copy, make_assistant):
    make_assistant(docs_copy, embedder=HashEmbedder()).ingest()
    report = make_assistant(
        docs_copy, embedder=HashEmbedder(), chunk_size=64, chunk_overlap=8
    ).ingest()
    assert report.updated == GOOD
    assert report.chunks_total > sum(CHUNKS.values())


def test_remove_document_deletes_file_and_chunks(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    assistant.ingest()
    assert assistant.remove_document("manual.pdf") == 3
    assert not (docs_copy / "manual.pdf").exists()
    assert not any(m["path"] == "manual.pdf" for m in stored(assistant).values())
    assert "manual.pdf" not in {d.path for d in assistant.documents()}


# --- big files: streamed, chunked and written slice by slice ---------------------------


def test_streamed_files_get_the_same_chunks_as_whole_ones(docs_copy, make_assistant, tmp_path):
    whole = make_assistant(docs_copy, embedder=HashEmbedder())
    whole.ingest()
    # every file over 1 KB is now streamed: text files by segments, the others page by page
    streamed_dir = tmp_path / "streamed"
    shutil.copytree(docs_copy, streamed_dir)
    streamed = make_assistant(
        streamed_dir, embedder=HashEmbedder(), index_dir=tmp_path / "index2", stream_file_mb=0.001
    )
    report = streamed.ingest()

    assert report.added == GOOD and report.chunks_total == sum(CHUNKS.values())
    assert stored(streamed) == stored(whole)  # same ids, pages, offsets and paths
    assert report.pages == sum(d.pages for d in whole.documents())


def test_a_text_file_bad_part_way_through_leaves_no_chunks_behind(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder(), stream_file_mb=0.5)
    assistant.ingest()
    before = stored(assistant)
    lines = "".join(f"Line {n} of the long otter log.\n" for n in range(60_000))  # 2 MB
    (docs_copy / "long.txt").write_bytes(lines.encode() + b"\x00\x01\x02\x03" * 50_000)

    report = assistant.ingest()

    assert dict(report.failed)["long.txt"] == "binary content, not text"
    assert report.added == []
    assert stored(assistant) == before  # the slices written before the bad block are gone
    assert assistant.manifest.stale_ids() == []
    assert assistant.search("long otter log", k=3, mode="keyword") == []


# --- the keyword index follows the chunks without reading them back --------------------


class CountingGet:
    """Wraps a store's ``get`` to count the chunks the keyword index reads back."""

    def __init__(self, store) -> None:
        self.read = 0
        self._get = store.get
        store.get = self

    def __call__(self, ids, with_embeddings: bool = False):
        self.read += len(ids)
        return self._get(ids, with_embeddings=with_embeddings)


def test_keyword_index_is_updated_from_tokens_not_from_the_store(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    reads = CountingGet(assistant.store)
    assistant.ingest()
    (docs_copy / "otters.md").write_text("Otters juggle pebbles in the river Wye.\n")
    (docs_copy / "notes.md").unlink()
    assistant.ingest()
    assert reads.read == 0  # written chunks were tokenized as they were written

    hits = assistant.search("otters juggle pebbles", k=3, mode="keyword")
    assert [h.file for h in hits] == ["otters.md"]
    assert assistant.search("queen bees", k=3, mode="keyword") == []
    assert reads.read == 1  # the one hit, read back for its text


def test_keyword_index_lost_or_stale_is_rebuilt_from_the_store(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder(), relevance_floor=-1.0)
    assistant.ingest()
    expected = [(h.file, h.text) for h in assistant.search("tea water boil", k=5, mode="keyword")]
    assert len(expected) >= 2
    shutil.rmtree(assistant.keywords.folder)
    reads = CountingGet(assistant.store)

    report = assistant.ingest()  # nothing changed, but the index is missing

    assert not report.changed and reads.read == sum(CHUNKS.values())
    assert [
        (h.file, h.text) for h in assistant.search("tea water boil", k=5, mode="keyword")
    ] == expected


def test_a_streamed_file_reports_progress_slice_by_slice(tmp_path, make_assistant):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "log.txt").write_text("".join(f"Entry {n}: the otter swam.\n" for n in range(40_000)))
    assistant = make_assistant(
        folder, embedder=HashEmbedder(), stream_file_mb=0.5, ingest_batch_chunks=64
    )
    events = []

    report = assistant.ingest(progress=events.append)

    assert (events[0].chunks_done, events[0].bytes_done) == (0, 0)  # before any reading
    during = [e for e in events[1:] if e.files_done == 0]
    assert len(during) >= 5 and {e.current for e in during} == {"log.txt"}
    counts = [e.chunks_done for e in during]
    assert counts == sorted(counts) and counts[0] == 64
    assert events[-1].files_done == 1 and events[-1].chunks_done == report.chunks_added


def test_progress_counts_bytes_for_an_eta_from_the_first_file(docs_copy, make_assistant):
    assistant = make_assistant(docs_copy, embedder=HashEmbedder())
    events = []

    assistant.ingest(progress=events.append)

    sizes = sum(f.stat().st_size for f in docs_copy.iterdir() if f.is_file())
    assert {e.bytes_total for e in events} == {sizes}
    done = [e.bytes_done for e in events]
    assert done == sorted(done) and done[0] == 0 and done[-1] == sizes  # the total from the start


def test_progress_moves_within_a_big_file_as_its_chunks_are_stored(tmp_path, make_assistant):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "big.txt").write_text("".join(f"Entry {n}: the otter swam.\n" for n in range(3_000)))
    assistant = make_assistant(folder, embedder=HashEmbedder(), ingest_batch_chunks=16)
    events = []

    report = assistant.ingest(progress=events.append)

    size = (folder / "big.txt").stat().st_size
    partial = sorted({e.bytes_done for e in events} - {0, size})
    assert report.chunks_added > 64 and len(partial) >= report.chunks_added // 16 - 1
    chunks = [e.chunks_done for e in events]
    assert chunks == sorted(chunks) and chunks[-1] == report.chunks_added
