"""ChromaStore on a real embedded Chroma: batches, and following other processes' writes.

Two processes are tested in tests/hostile/test_concurrent_use.py; here the other
process is simulated by its only trace, a new publication file.
"""

from __future__ import annotations

import os
from pathlib import Path

from vectorstore.chroma import ChromaStore
from vectorstore.chroma_connection import PUBLICATION_FILE


def unit(n: int, dim: int = 8) -> list[float]:
    return [1.0 if i == n % dim else 0.0 for i in range(dim)]


def write(store: ChromaStore, *ids: int) -> None:
    store.upsert(
        [f"c{i}" for i in ids],
        [unit(i) for i in ids],
        [f"chunk {i}" for i in ids],
        [{"path": f"f{i}.md", "ext": ".md"} for i in ids],
    )


def test_publish_writes_a_new_token_only_after_writes(tmp_path: Path) -> None:
    store = ChromaStore.embedded(tmp_path / "chroma", "documents")
    publication = tmp_path / "chroma" / PUBLICATION_FILE
    store.publish()
    assert not publication.exists()  # nothing written, nothing to tell

    write(store, 1)
    store.publish()
    first = publication.read_text()
    assert first.startswith(f"{os.getpid()}-")
    store.publish()
    assert publication.read_text() == first
    write(store, 2)
    store.publish()
    assert publication.read_text() != first


def test_a_foreign_publication_makes_the_store_reopen(tmp_path: Path) -> None:
    store = ChromaStore.embedded(tmp_path / "chroma", "documents")
    write(store, 1, 2, 3)
    store.publish()
    client = store.client

    assert store.count() == 3 and store.client is client  # its own publication
    (tmp_path / "chroma" / PUBLICATION_FILE).write_text("4242-another-process")
    assert store.count() == 3
    assert store.client is not client  # reopened, and the data is all there
    assert [h.id for h in store.query(unit(2), k=1)] == ["c2"]


def test_stores_on_one_folder_share_a_client_and_see_a_reset(tmp_path: Path) -> None:
    one = ChromaStore.embedded(tmp_path / "chroma", "documents")
    two = ChromaStore.embedded(tmp_path / "chroma", "documents")
    write(one, 1, 2)
    assert one.client is two.client and two.count() == 2

    two.reset()

    assert one.count() == 0 and one.query(unit(1), k=1) == []
    write(one, 5)
    assert [c.id for c in two.get(["c5", "c1"])] == ["c5"]


def test_batches_respect_the_client_limit(tmp_path: Path) -> None:
    store = ChromaStore.embedded(tmp_path / "chroma", "documents")
    store.max_batch = 7  # as if the server allowed only 7 records a call
    write(store, *range(30))
    assert store.count() == 30
    assert [c.id for c in store.get([f"c{i}" for i in range(29, -1, -1)])][:3] == [
        "c29",
        "c28",
        "c27",
    ]
    assert len(list(store.iter_all(page_size=4))) == 30
    store.delete([f"c{i}" for i in range(0, 30, 2)])
    assert store.count() == 15


def test_overrides_checks_are_skipped_only_while_chromadb_opens(tmp_path: Path) -> None:
    import pytest
    from overrides import override

    store = ChromaStore.embedded(tmp_path / "chroma", "documents")
    write(store, 1)  # opens the client (and imports chromadb, if no test did before)
    assert [hit.id for hit in store.query(unit(1), 1)] == ["c1"]

    class Base:
        def run(self, count: int) -> int:
            return count

    with pytest.raises(TypeError):

        class Broken(Base):  # a wrong signature is still refused once the client is open
            @override
            def run(self, count: str, extra: bytes) -> int:  # type: ignore[override]
                return 0


def test_chromadb_opens_without_the_overrides_checks(tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = f"""
import sys, overrides
module = sys.modules["overrides.overrides"]
checked = []
real = module._validate_method
module._validate_method = lambda *args: checked.append(args) or real(*args)
from vectorstore.chroma_client import open_chroma_client
from pathlib import Path
client = open_chroma_client(Path({str(tmp_path / "chroma")!r}))
print(len(checked), "chromadb" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "True"]  # chromadb imported, no method checked
