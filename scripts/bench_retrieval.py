"""Retrieval levers, measured one at a time (the retrieval issue's harness).

Usage:
  python -m scripts.bench_retrieval rdev --docs bench-data/rdev-docs --index DIR [--set k=v]
  python -m scripts.bench_retrieval beir --data DIR --work-dir DIR [--limit N] [--set k=v]

Each run builds (or reuses, incrementally) one index with the given settings
(``--set chunk_size=128`` and so on: the levers that change what is indexed), then reads
the vector and keyword candidates of every question once and scores every fusion variant
on them offline: the levers that change only how the two lists are combined. Prints a
table and saves it as JSON (``--out``).

R dev set (tests/data/rdev): page Recall@1/5/10 over the answerable questions, a page
counting when it is one of the question's listed pages of its file. BEIR: nDCG@10,
Recall@100 at document level, a document ranking where its best chunk ranks.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.evaluation import load_jsonl, load_qrels, metrics_for
from gpt4all_rag.settings import Settings
from scripts._common import read_result, write_result
from scripts.devset_common import load_devset, page_matches
from vectorstore.fusion import Fusion
from vectorstore.passage import Passage, merge_neighbours
from vectorstore.retriever import Filters

DEPTH = 100


@dataclass(frozen=True)
class Candidates:
    """One question's vector and keyword lists, best first."""

    vector: list[Passage]
    keyword: list[Passage]
    key: str = ""


def collect(
    assistant: DocumentAssistant, text: str, depth: int = DEPTH, key: str = ""
) -> Candidates:
    """The two candidate lists of one question, as the hybrid search reads them."""
    import numpy as np

    retriever = assistant.retriever
    qv = np.asarray(retriever.embedder.embed_query(text), dtype=np.float32)
    vector = retriever.vector_hits(qv, depth, Filters())
    keyword = retriever.keyword_hits(text, qv, depth, Filters(), known={p.id: p for p in vector})
    return Candidates(vector, keyword, key)


Fuser = Callable[[Candidates], list[Passage]]


def scaled(items: Sequence[Passage], by_similarity: bool) -> dict[str, float]:
    """One list's scores scaled to 0..1, as the product's convex fusion scales each side."""
    if by_similarity:
        return Fusion("convex", vector_weight=1.0).scores(items, [])
    return Fusion("convex", vector_weight=0.0).scores([], items)


def fused(method: str, depth: int = 50, weight: float = 0.5, k: int = 60) -> Fuser:
    """The product's ``Fusion`` over the top ``depth`` of each list."""
    fusion = Fusion(method, vector_weight=weight, rrf_k=k)

    def fuse(c: Candidates) -> list[Passage]:
        v, kw = c.vector[:depth], c.keyword[:depth]
        scores = fusion.scores(v, kw)
        by_id = {p.id: p for p in v + kw}
        return [by_id[i] for i in sorted(scores, key=lambda i: (-scores[i], i))]

    return fuse


def rrf(depth: int = 50, k: int = 60, weight: float = 0.5) -> Fuser:
    """Weighted reciprocal rank fusion (``weight`` on the vector side)."""
    return fused("rrf", depth, weight, k)


def convex(depth: int = 50, alpha: float = 0.5) -> Fuser:
    """Scaled scores, ``alpha`` on the vector side."""
    return fused("convex", depth, alpha)


def grouped(depth: int = 50, alpha: float = 0.5, second: float = 0.0, level: str = "page") -> Fuser:
    """Convex fusion of pages (or whole files), not chunks: each side's page score is its
    best chunk's scaled score (plus ``second`` times the next best), so a page whose one
    chunk the vectors find and whose other chunk BM25 finds gets both."""
    fusion = Fusion("convex", vector_weight=alpha)

    def unit(p: Passage) -> tuple[str, object]:
        return (p.file, p.metadata.get("page") if level == "page" else None)

    def side(items: list[Passage], by_similarity: bool) -> dict[tuple[str, object], float]:
        scores = scaled(items, by_similarity)
        best: dict[tuple[str, object], list[float]] = {}
        for p in items:
            best.setdefault(unit(p), []).append(scores[p.id])
        return {
            u: (sorted(v, reverse=True) + [0.0])[0] + second * (sorted(v, reverse=True) + [0.0])[1]
            for u, v in best.items()
        }

    def fuse(c: Candidates) -> list[Passage]:
        v, kw = c.vector[:depth], c.keyword[:depth]
        vs, ks = side(v, True), side(kw, False)
        chunk = fusion.scores(v, kw)
        units: dict[tuple[str, object], float] = {}
        for u in {**vs, **ks}:
            units[u] = alpha * vs.get(u, 0.0) + (1 - alpha) * ks.get(u, 0.0)
        by_id = {p.id: p for p in v + kw}
        ordered = sorted(by_id.values(), key=lambda p: (-units[unit(p)], -chunk[p.id], p.id))
        return ordered

    return fuse


def vector_only(c: Candidates) -> list[Passage]:
    return c.vector


def keyword_only(c: Candidates) -> list[Passage]:
    return c.keyword


def merged(fuse: Fuser) -> Fuser:
    """``fuse``, then adjacent chunks of a page joined (as the shipped search does)."""
    return lambda c: merge_neighbours(fuse(c))


VARIANTS: dict[str, Fuser] = {
    "vector": vector_only,
    "keyword": keyword_only,
    "rrf (depth 50, k 60: shipped before)": rrf(),
    "rrf depth 20": rrf(depth=20),
    "rrf depth 100": rrf(depth=100),
    "rrf k 20": rrf(k=20),
    "rrf k 10": rrf(k=10),
    "rrf vector 0.4": rrf(weight=0.4),
    "rrf vector 0.6": rrf(weight=0.6),
    "convex 0.3": convex(alpha=0.3),
    "convex 0.5": convex(alpha=0.5),
    "convex 0.7": convex(alpha=0.7),
    "rrf + merge": merged(rrf()),
    "rrf depth 20 + merge": merged(rrf(depth=20)),
    "rrf k 20 + merge": merged(rrf(k=20)),
    "convex 0.5 + merge": merged(convex(alpha=0.5)),
    "convex 0.4 + merge": merged(convex(alpha=0.4)),
    "convex 0.6 + merge": merged(convex(alpha=0.6)),
    "convex 0.5 depth 20 + merge": merged(convex(depth=20, alpha=0.5)),
    "convex 0.5 depth 100 + merge": merged(convex(depth=100, alpha=0.5)),
    "page-grouped convex 0.5 + merge": merged(grouped()),
    "page-grouped convex 0.5 +0.1 second + merge": merged(grouped(second=0.1)),
    "page-grouped convex 0.5 +0.25 second + merge": merged(grouped(second=0.25)),
    "page-grouped convex 0.5 depth 100 + merge": merged(grouped(depth=100)),
    "file-grouped convex 0.5": grouped(level="file"),
    "file-grouped convex 0.5 depth 200": grouped(depth=200, level="file"),
    "file-grouped convex 0.5 +0.1 second depth 200": grouped(depth=200, second=0.1, level="file"),
    "rrf depth 200": rrf(depth=200),
    "convex 0.5 depth 200": convex(depth=200, alpha=0.5),
}


def build(settings: Settings) -> tuple[DocumentAssistant, float, int]:
    """The assistant over an index synced with ``settings`` (incremental), and the sync time."""
    assistant = DocumentAssistant.from_settings(settings)
    started = time.perf_counter()
    report = assistant.ingest(settings.documents_dir, force=True)
    return assistant, time.perf_counter() - started, report.chunks_total


def rdev_scores(
    assistant: DocumentAssistant, variants: dict[str, Fuser], limit: int | None
) -> dict[str, Any]:
    """Page Recall@1/5/10 and MRR@10 of each variant over the answerable dev questions."""
    questions = [q for q in load_devset() if q.answerable][:limit]
    cands = {q.id: collect(assistant, q.question, key=q.id) for q in questions}
    shipped = {
        f"shipped search, floor {floor}": {
            q.id: assistant.retriever.search(q.question, k=10, floor=floor, abstain=False)
            for q in questions
        }
        for floor in (assistant.settings.relevance_floor, 0.1, -1.0)
    }
    variants = {**variants, **{name: (lambda c, r=r: r[c.key]) for name, r in shipped.items()}}
    out: dict[str, Any] = {}
    for name, fuse in variants.items():
        hits = []
        for q in questions:
            ranked = fuse(cands[q.id])
            ok = [page_matches(q, p.file, p.page) for p in ranked[:10]]
            hits.append(ok)
        out[name] = {
            f"R@{k}": round(statistics.mean(any(h[:k]) for h in hits), 3) for k in (1, 5, 10)
        } | {"MRR@10": round(statistics.mean(_rr(h) for h in hits), 3)}
    return out


def _rr(hits: list[bool]) -> float:
    return next((1.0 / (i + 1) for i, ok in enumerate(hits) if ok), 0.0)


def beir_scores(
    assistant: DocumentAssistant,
    data: Path,
    variants: dict[str, Fuser],
    limit: int | None,
) -> dict[str, Any]:
    """nDCG@10 and Recall@100 of each variant at document level."""
    qrels = load_qrels(
        data / "qrels.tsv" if (data / "qrels.tsv").exists() else data / "qrels" / "train.tsv"
    )
    queries = [q for q in load_jsonl(data / "queries.jsonl") if str(q["_id"]) in qrels][:limit]
    cands = {str(q["_id"]): collect(assistant, str(q["text"]), 2 * DEPTH) for q in queries}
    out: dict[str, Any] = {}
    for name, fuse in variants.items():
        totals: dict[str, float] = {}
        for qid, c in cands.items():
            docs = _docs(fuse(c))
            for metric, value in metrics_for(docs, qrels[qid]).items():
                totals[metric] = totals.get(metric, 0.0) + value
        out[name] = {m: round(v / len(cands), 4) for m, v in totals.items()}
    return out


def _docs(passages: Sequence[Passage]) -> list[str]:
    seen: dict[str, None] = {}
    for p in passages:
        seen.setdefault(Path(p.file).stem, None)
    return list(seen)


def write_corpus(corpus: Iterable[dict[str, Any]], folder: Path) -> None:
    """A BEIR corpus as one text file a document, named as ``gpt4all-rag eval`` names them."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in corpus:
        title = str(record.get("title") or "").strip()
        body = str(record.get("text") or "").strip()
        text = f"{title}\n\n{body}" if title else body
        doc_id = str(record["_id"])
        name = "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):02x}" for c in doc_id)
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")


def _settings(index: Path, docs: Path, pairs: list[str]) -> Settings:
    overrides: dict[str, Any] = {"index_dir": index, "documents_dir": docs}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            overrides[key] = json.loads(value)  # numbers, true/false, null, lists
        except json.JSONDecodeError:
            overrides[key] = value  # a plain word such as float32
    return Settings(**overrides)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=("rdev", "beir"))
    parser.add_argument("--docs", type=Path, help="rdev: the three manuals")
    parser.add_argument("--data", type=Path, help="beir: folder with corpus/queries/qrels")
    parser.add_argument("--index", "--work-dir", dest="index", type=Path, required=True)
    parser.add_argument("--set", action="append", default=[], help="a setting, key=value")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=Path("bench-results/retrieval.json"))
    args = parser.parse_args()
    if args.dataset == "beir":
        docs = args.index / "docs"
        if not docs.exists():
            write_corpus(load_jsonl(args.data / "corpus.jsonl"), docs)
        settings = _settings(args.index / "index", docs, args.set)
    else:
        settings = _settings(args.index, args.docs, args.set)
    assistant, seconds, chunks = build(settings)
    started = time.perf_counter()
    if args.dataset == "rdev":
        scores = rdev_scores(assistant, VARIANTS, args.limit)
    else:
        scores = beir_scores(assistant, args.data, VARIANTS, args.limit)
    report = {
        "dataset": args.dataset,
        "label": args.label,
        "settings": args.set,
        "chunks": chunks,
        "sync_seconds": round(seconds, 1),
        "score_seconds": round(time.perf_counter() - started, 1),
        "variants": scores,
    }
    print(f"{args.dataset} {args.label} {args.set}: {chunks} chunks, sync {seconds:.0f} s")
    for name, figures in scores.items():
        print(f"  {name:<32} " + "  ".join(f"{k} {v:.4f}" for k, v in figures.items()))
    previous = read_result(args.out) if args.out.exists() else []
    write_result(args.out, "bench_retrieval", [*previous, report], indent=1)
    return 0 if math.isfinite(seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
