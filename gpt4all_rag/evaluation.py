"""Retrieval evaluation on a BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels.tsv).

Each corpus record becomes one text file and goes through the normal ingestion
path into a throwaway index, so the figures measure what users get: the same
loader, chunker, embedder, store and retriever.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from vectorstore.schema import SEARCH_MODES, SearchMode

if TYPE_CHECKING:
    from vectorstore.passage import Passage

__all__ = ["format_results", "load_qrels", "metrics_for", "run_beir_eval"]

CUTOFF_K, RECALL_DEEP = 10, 100


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a .jsonl file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: relevance}}`` from a BEIR qrels TSV (header optional)."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # the header, or a blank line
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def metrics_for(ranked: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    """nDCG@10, Recall@10, Recall@100 and MRR@10 of one ranked list of doc ids."""
    gains = [relevant.get(doc, 0) for doc in ranked[:CUTOFF_K]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains) if g > 0)
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:CUTOFF_K]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    wanted = {d for d, g in relevant.items() if g > 0}
    first = next((i for i, d in enumerate(ranked[:CUTOFF_K]) if d in wanted), None)
    return {
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "recall@10": len(wanted & set(ranked[:CUTOFF_K])) / len(wanted) if wanted else 0.0,
        "recall@100": len(wanted & set(ranked[:RECALL_DEEP])) / len(wanted) if wanted else 0.0,
        "mrr@10": 1.0 / (first + 1) if first is not None else 0.0,
    }


def _write_corpus(corpus: Iterable[dict[str, Any]], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for record in corpus:
        title = str(record.get("title") or "").strip()
        body = str(record.get("text") or "").strip()
        text = f"{title}\n\n{body}" if title else body
        (folder / f"{_safe_name(str(record['_id']))}.txt").write_text(text + "\n", encoding="utf-8")
        count += 1
    return count


def _safe_name(doc_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):02x}" for c in doc_id)


def _doc_ranking(passages: Iterable[Passage], names: dict[str, str]) -> list[str]:
    """Chunks to documents: each document ranks where its best chunk ranks."""
    ranked: list[str] = []
    seen: set[str] = set()
    for passage in passages:
        doc = names.get(Path(passage.file).stem, Path(passage.file).stem)
        if doc not in seen:
            seen.add(doc)
            ranked.append(doc)
    return ranked


def run_beir_eval(
    settings: Settings,
    corpus_path: Path,
    queries_path: Path,
    qrels_path: Path,
    modes: Sequence[SearchMode] = SEARCH_MODES,
    limit: int | None = None,
    work_dir: Path | None = None,
    assistant_factory: Callable[[Settings], DocumentAssistant] | None = None,
) -> dict[str, Any]:
    """Index the corpus into a throwaway index and score each retrieval mode.

    ``assistant_factory`` builds the assistant (default ``DocumentAssistant.from_settings``).
    """
    make = assistant_factory or DocumentAssistant.from_settings

    corpus = load_jsonl(corpus_path)
    qrels = load_qrels(qrels_path)
    queries = [q for q in load_jsonl(queries_path) if str(q["_id"]) in qrels][:limit]
    names = {_safe_name(str(r["_id"])): str(r["_id"]) for r in corpus}
    root = work_dir or Path(tempfile.mkdtemp(prefix="gpt4all-rag-eval-"))
    try:
        _write_corpus(corpus, root / "docs")
        local = settings.model_copy(
            update={
                "documents_dir": root / "docs",
                "index_dir": root / "index",
                "chroma_host": None,
                "fusion_candidates": max(settings.fusion_candidates, 2 * RECALL_DEEP),
            }
        )
        assistant = make(local)
        started = time.perf_counter()
        report = assistant.ingest()
        results: dict[str, Any] = {
            "corpus": {
                "documents": len(corpus),
                "chunks": report.chunks_total,
                "failed": len(report.failed),
                "ingest_seconds": round(time.perf_counter() - started, 1),
            },
            "queries": len(queries),
            "modes": {},
        }
        for mode in modes:
            results["modes"][mode] = _score_mode(assistant, mode, queries, qrels, names)
        return results
    finally:
        if work_dir is None:
            shutil.rmtree(root, ignore_errors=True)


def _score_mode(
    assistant: DocumentAssistant,
    mode: SearchMode,
    queries: list[dict[str, Any]],
    qrels: dict[str, dict[str, int]],
    names: dict[str, str],
) -> dict[str, float]:
    totals: dict[str, float] = {}
    latencies: list[float] = []
    for query in queries:
        started = time.perf_counter()
        passages = assistant.retriever.search(
            str(query["text"]), k=2 * RECALL_DEEP, mode=mode, floor=-1.0, abstain=False
        )
        latencies.append(time.perf_counter() - started)
        for name, value in metrics_for(
            _doc_ranking(passages, names), qrels[str(query["_id"])]
        ).items():
            totals[name] = totals.get(name, 0.0) + value
    scored = {name: round(total / max(len(queries), 1), 4) for name, total in totals.items()}
    scored["latency_p50_ms"] = (
        round(float(np.percentile(latencies, 50)) * 1000, 2) if latencies else 0.0
    )
    scored["latency_p95_ms"] = (
        round(float(np.percentile(latencies, 95)) * 1000, 2) if latencies else 0.0
    )
    return scored


def format_results(results: dict[str, Any]) -> str:
    """A small table of the figures, one line per mode."""
    corpus = results["corpus"]
    lines = [
        f"corpus: {corpus['documents']} documents, {corpus['chunks']} chunks, "
        f"indexed in {corpus['ingest_seconds']} s; {results['queries']} queries",
        f"{'mode':<8} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'MRR@10':>7} "
        f"{'p50 ms':>8} {'p95 ms':>8}",
    ]
    for mode, m in results["modes"].items():
        lines.append(
            f"{mode:<8} {m['ndcg@10']:>8.4f} {m['recall@10']:>7.4f} {m['recall@100']:>7.4f} "
            f"{m['mrr@10']:>7.4f} {m['latency_p50_ms']:>8.1f} {m['latency_p95_ms']:>8.1f}"
        )
    return "\n".join(lines)
