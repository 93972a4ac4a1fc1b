"""A cluster ingest as its own process, with an embedder as slow as a test needs.

``python -m tests.helpers.cluster_driver ADDRESS DOCS INDEX [--slow S]``: ingests DOCS on
the Ray cluster at ADDRESS into INDEX (the store the ``GPT4ALL_RAG_*`` environment
names), the embedder being the hash one, sleeping ``S`` seconds a call on the nodes. A
test kills a node, or this process, while files are in flight; prints the report's JSON.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import HashEmbedder
from ingest.cluster.sync import sync_on_cluster

__all__ = ["SlowHashEmbedder", "slow_hash_embedder"]


class SlowHashEmbedder(HashEmbedder):
    """The hash embedder, sleeping before each call: tasks long enough to be caught."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def embed_documents(self, texts: list[str]) -> list[list[float]]:  # type: ignore[override]
        """Sleep, then embed as the hash embedder does."""
        time.sleep(self.seconds)
        return super().embed_documents(texts)


def slow_hash_embedder(seconds: float) -> HashEmbedder:
    """Built on each node; run as ``__main__``, this module travels by value (cloudpickle)."""
    return SlowHashEmbedder(seconds)


def main() -> int:
    """Ingest as the module docstring says; print the report's JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("docs", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--slow", type=float, default=0.0)
    args = parser.parse_args()
    settings = Settings(index_dir=args.index, documents_dir=args.docs, embedding_backend="hash")
    assistant = DocumentAssistant.from_settings(settings)
    report = sync_on_cluster(
        assistant.indexer,
        args.address,
        functools.partial(slow_hash_embedder, args.slow),
        f"slow-hash-{args.slow}",
        args.docs,
    )
    print(json.dumps(report.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
