"""Run an ingest slowly enough to be killed part-way (used by test_crash_safety)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gpt4all_rag.assistant.single import DocumentAssistant  # noqa: E402
from gpt4all_rag.settings import Settings  # noqa: E402
from gpt4all_rag.testing import HashEmbedder  # noqa: E402


class SlowEmbedder(HashEmbedder):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        time.sleep(0.4)
        return super().embed_documents(texts)


if __name__ == "__main__":
    documents, index = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(documents_dir=documents, index_dir=index, ingest_batch_chunks=1)
    DocumentAssistant.from_settings(settings, embedder=SlowEmbedder()).ingest()
