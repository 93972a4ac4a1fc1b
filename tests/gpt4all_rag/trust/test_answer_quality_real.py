"""Evidence and grounding with the real bundled MiniLM (no language model) on real documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt4all_rag.answer import Source
from gpt4all_rag.settings import bundled_embedding_model
from gpt4all_rag.trust.evidence import select_evidence
from gpt4all_rag.trust.grounding import attribute
from ingest.loaders import load_file
from vectorstore.embeddings import SentenceTransformerEmbedder

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parents[2] / "data" / "docs"


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    embedder = SentenceTransformerEmbedder(bundled_embedding_model())
    embedder.embed_query("warm up")
    return embedder


@pytest.fixture(scope="module")
def manual() -> list[Source]:
    """The three pages of the reactor manual as numbered sources (page 3 ranked first)."""
    pages = {p.page: p.text for p in load_file(DOCS / "manual.pdf")}
    order = [3, 2, 1]
    return [
        Source(number=n, file="manual.pdf", page=page, text=pages[page], score=1.0, similarity=0.5)
        for n, page in enumerate(order, start=1)
    ]


def test_the_evidence_holds_the_fact_from_the_right_page(minilm, manual):
    evidence = select_evidence("How hot is the core of the Zorblax reactor?", manual, minilm)
    assert evidence[0].text == "The Zorblax reactor operates at a core temperature of 451 kelvin."
    assert (evidence[0].source, evidence[0].page) == (2, 2)
    assert sum(len(e.text.split()) for e in evidence) <= 60


def test_an_invented_sentence_is_flagged_and_a_supported_one_is_not(minilm, manual):
    answer = (
        "The reactor's core runs at 451 kelvin. "
        "The reactor has to be maintained every 17 days [1]. "
        "The reactor must be refuelled with thorium pellets every three years."
    )
    result = attribute(answer, manual, minilm)
    assert [(r.supported, r.cited, r.inferred) for r in result] == [
        (True, (2,), True),
        (True, (1,), False),
        (False, (), False),
    ]


def test_an_answer_about_another_topic_is_not_supported(minilm, manual):
    result = attribute(
        "Green tea should steep at 80 degrees Celsius for three minutes.", manual, minilm
    )
    assert result[0].supported is False


class CountingEmbedder:
    """MiniLM, counting its forward passes."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.batches: list[int] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(len(texts))
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.batches.append(1)
        return self.inner.embed_query(text)


def test_evidence_for_four_chunk_sized_sources_is_one_forward_pass(minilm):
    """One batch for the question and every candidate: the time is one MiniLM call.

    (Wall time is measured by scripts/calibrate_grounding.py; under the CI's shared
    cores a time limit here would test the neighbours, not this code.)
    """
    text = (DOCS / "notes.md").read_text(encoding="utf-8")
    words = text.split()
    quarter = len(words) // 4
    sources = [
        Source(n + 1, "notes.md", None, " ".join(words[n * quarter : (n + 1) * quarter]), 1.0, 0.5)
        for n in range(4)
    ]
    counting = CountingEmbedder(minilm)
    evidence = select_evidence("How long can queen bees live?", sources, counting)
    assert any("five years" in e.text for e in evidence)
    assert len(counting.batches) == 1
    assert counting.batches[0] > 10  # the question and the candidate sentences
