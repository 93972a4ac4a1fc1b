"""Memory of a large plain-text file: loaded whole, streamed, and ingested.

Measured on 2 cores (HashEmbedder, so the figures are the pipeline's, not a model's);
see docs/benchmarks.md:

- ``load_file`` of a 200 MB .txt reads it whole (bytes, then text): peak about 500 MB.
  The ingest never does that for a file over ``stream_file_mb`` (16 MB).
- ``stream_file`` of the same file: one 1 MiB block at a time, peak 115 MB (most of it
  the interpreter and its imports).
- A whole ingest streams the file, embeds and writes 256 chunks at a time, and feeds
  the keyword index tokens as it goes. What grows is the store: embedded Chroma keeps
  its vector index in memory, about 3.6 KB a chunk, and the BM25 matrix is built at
  the end. A 20 MB file (38,600 chunks): peak 424 MB, 143 s. A 200 MB file (377,400
  chunks): peak 2,178 MB, 1,781 s.

The ingest test runs on ``GPT4ALL_RAG_BIG_INGEST_MB`` (default 20; 200 takes about
30 minutes here) and bounds the peak by 400 MB plus 10 MB per megabyte of text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ingest_worker.py")
LOAD_MB = 200
INGEST_MB = int(os.environ.get("GPT4ALL_RAG_BIG_INGEST_MB", "20"))


def write_text_file(path: Path, megabytes: int) -> None:
    """Prose-like lines in paragraphs, every line different, ``megabytes`` MiB in all."""
    with path.open("w", encoding="utf-8") as out:
        written, n = 0, 0
        while written < megabytes << 20:
            lines = [
                f"Entry {i}: station {i % 997} on ridge {i % 31} logged wind of {i % 53} knots "
                f"and {i % 41} degrees while the crew wrote note {i}.\n"
                + ("\n" if i % 5 == 4 else "")
                for i in range(n, n + 1000)
            ]
            block = "".join(lines)
            out.write(block)
            written += len(block)
            n += 1000


def run_worker(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(WORKER), *args], capture_output=True, text=True, timeout=3600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_a_200_mb_text_file_peaks_below_three_times_its_size(tmp_path):
    path = tmp_path / "big.txt"
    write_text_file(path, LOAD_MB)
    result = run_worker("load", str(path))
    assert result["chars"] >= LOAD_MB << 20
    assert result["peak_mb"] < 150 + 3 * LOAD_MB, result


def test_streaming_a_200_mb_text_file_never_holds_it_whole(tmp_path):
    path = tmp_path / "big.txt"
    write_text_file(path, LOAD_MB)
    result = run_worker("stream", str(path))
    assert result["chars"] >= LOAD_MB << 20
    assert result["peak_mb"] < 150, result  # the interpreter and a few blocks, any size


@pytest.mark.slow
def test_ingesting_a_large_text_file_stays_within_a_linear_bound(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_text_file(folder / "big.txt", INGEST_MB)
    result = run_worker("ingest", str(folder), str(tmp_path / "index"))
    report = result["report"]
    assert report["added"] == ["big.txt"] and report["failed"] == []
    assert report["chunks_total"] > INGEST_MB * 1000
    assert result["peak_mb"] < 400 + 10 * INGEST_MB, result
