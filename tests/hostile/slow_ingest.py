"""Ingest a folder slowly, in its own process, for test_concurrent_use.

Usage: python tests/hostile/slow_ingest.py DOCUMENTS INDEX STARTED_FLAG

The embedder sleeps before each batch so that the ingest lasts, and touches
STARTED_FLAG on its first batch: from then on the index is being written.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gpt4all_rag.assistant.single import DocumentAssistant  # noqa: E402
from gpt4all_rag.settings import Settings  # noqa: E402
from gpt4all_rag.testing import HashEmbedder  # noqa: E402


class SlowEmbedder(HashEmbedder):
    """Slow to embed documents (so the ingest lasts), instant for queries."""

    def __init__(self, started: Path | None = None, delay: float = 0.15) -> None:
        super().__init__()
        self.started = started
        self.delay = delay

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.started is not None:
            self.started.touch()
        time.sleep(self.delay)
        return super().embed_documents(texts)


if __name__ == "__main__":
    documents, index, started = (Path(arg) for arg in sys.argv[1:4])
    settings = Settings(documents_dir=documents, index_dir=index, ingest_batch_chunks=1)
    assistant = DocumentAssistant.from_settings(settings, embedder=SlowEmbedder(started))
    print(json.dumps(assistant.ingest().to_json()))
