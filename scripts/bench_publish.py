"""What publishing generations for replicas costs, at growing index sizes (issue 24).

Usage:
    python -m scripts.bench_publish [--chunks 10000,100000,1000000] [--out FILE]

For each size: a manifest with that many chunks (3.6 chunks a file, as the R manuals),
filled through SQL, and the R dev index's keyword folder (``bench-data/rdev-index``, or
an empty one). Measures the writer's publish (the manifest's backup, the keyword
folder hard-linked, the renames and fsyncs), a replica's move to the new generation
(``CURRENT`` read, the copy opened ``immutable``), and the replica's ``uncommitted``
check of 50 hit ids, which every search runs. Saves ``bench-results/publish.json``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ingest.manifest import MANIFEST_FILE, Manifest
from ingest.publish import Publication, Publisher
from ingest.replica import PublishedManifest
from scripts._common import ROOT, write_result

CHUNKS_PER_FILE = 3.6


def fill(manifest: Manifest, chunks: int) -> list[str]:
    """``chunks`` committed chunks in ``chunks / 3.6`` files; returns the chunk ids."""
    files = max(1, int(chunks / CHUNKS_PER_FILE))
    ids = [uuid.uuid4().hex for _ in range(chunks)]
    with manifest.transaction() as db:
        db.executemany(
            "INSERT INTO files VALUES (?, 1000, 0, ?, 1, 4, 0.0, '')",
            ((f"doc{n}.pdf", f"{n:064x}") for n in range(files)),
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?)",
            ((chunk, f"doc{n % files}.pdf", n // files) for n, chunk in enumerate(ids)),
        )
    return ids


def measure(root: Path, chunks: int, keywords: Path) -> dict[str, Any]:
    index = root / f"index-{chunks}"
    index.mkdir()
    manifest = Manifest(index / MANIFEST_FILE)
    ids = fill(manifest, chunks)
    publisher = Publisher(root / f"published-{chunks}", keywords)
    replica = PublishedManifest(Publication(publisher.root), poll_seconds=0.0)
    times: dict[str, list[float]] = {"publish": [], "replica_move": [], "uncommitted_50": []}
    for round_ in range(3):
        manifest.set_meta("round", str(round_))
        started = time.perf_counter()
        publisher.publish(manifest)
        times["publish"].append(time.perf_counter() - started)
        started = time.perf_counter()
        replica.refresh(force=True)
        replica.chunk_count()
        times["replica_move"].append(time.perf_counter() - started)
        sample = ids[:: max(1, len(ids) // 50)][:50]
        started = time.perf_counter()
        assert not replica.uncommitted(sample)
        times["uncommitted_50"].append(time.perf_counter() - started)
    size = sum(f.stat().st_size for f in publisher.current().folder.rglob("*") if f.is_file())
    manifest.close()
    replica.close()
    return {
        "chunks": chunks,
        "manifest_mb": round((index / MANIFEST_FILE).stat().st_size / 1e6, 1),
        "generation_mb": round(size / 1e6, 1),
        **{f"{k}_s": round(statistics.median(v), 4) for k, v in times.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", default="10000,100000,1000000")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "publish.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / "bench-data") as folder:
        root = Path(folder)
        keywords = root / "keywords"
        source = ROOT / "bench-data" / "rdev-index" / "keywords"
        if source.is_dir():
            shutil.copytree(source, keywords)
        else:
            keywords.mkdir()
        for chunks in (int(c) for c in args.chunks.split(",")):
            row = measure(root, chunks, keywords)
            rows.append(row)
            print(
                f"{row['chunks']:>9} chunks  manifest {row['manifest_mb']:>6} MB  "
                f"publish {row['publish_s']:.3f} s  replica move {row['replica_move_s']:.4f} s  "
                f"uncommitted(50) {row['uncommitted_50_s'] * 1000:.2f} ms"
            )
    write_result(args.out, "bench_publish", rows)


if __name__ == "__main__":
    main()
