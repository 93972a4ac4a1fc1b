"""Retriever, reciprocal rank fusion and Filters, on a real Chroma and BM25 index in tmp_path
with the hand-computable hash embedder (gpt4all_rag.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt4all_rag.testing import HashEmbedder
from vectorstore.chroma import ChromaStore
from vectorstore.fusion import Fusion, reciprocal_rank_fusion
from vectorstore.keyword import KeywordIndex
from vectorstore.passage import Passage
from vectorstore.retriever import Filters, Retriever
from vectorstore.schema import SEARCH_MODES, ChunkMetadata, path_fields

CHUNKS = {
    "otter": ("animals/otter.md", 1, "Otters juggle smooth pebbles in the river"),
    "bees": ("animals/bees.txt", None, "Queen bees live for five years in the hive"),
    "tea": ("kitchen/tea.pdf", 2, "Green tea should steep at eighty degrees"),
    "venus": ("space.pdf", 3, "Venus is hotter than Mercury at four hundred degrees"),
}


def metadata(path: str, page: int | None) -> ChunkMetadata:
    meta = ChunkMetadata(**path_fields(path), hash="h", chunk=0, start=0, end=10)
    if page is not None:
        meta["page"] = page
    return meta


@pytest.fixture
def retriever(tmp_path: Path) -> Retriever:
    embedder = HashEmbedder()
    store = ChromaStore.embedded(tmp_path / "chroma", "test")
    keywords = KeywordIndex(tmp_path / "keywords")
    ids = list(CHUNKS)
    texts = [CHUNKS[i][2] for i in ids]
    metas = [metadata(CHUNKS[i][0], CHUNKS[i][1]) for i in ids]
    store.upsert(ids, embedder.embed_documents(texts), texts, metas)
    keywords.stage(ids, texts, metas)
    keywords.commit(ids, store.get)
    return Retriever(store, embedder, keywords, candidates=10)


# --- reciprocal rank fusion ------------------------------------------------------------


def test_rrf_sums_one_over_k_plus_rank_over_the_lists():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert fused == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62})


def test_rrf_prefers_an_id_both_lists_rank_over_one_ranked_first_once():
    fused = reciprocal_rank_fusion([["x", "both"], ["y", "both"]])
    assert max(fused, key=fused.__getitem__) == "both"


def test_rrf_of_nothing_is_empty():
    assert reciprocal_rank_fusion([[], []]) == {}


# --- filters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters, allowed",
    [
        (Filters(), ["animals/bees.txt", "animals/otter.md", "kitchen/tea.pdf", "space.pdf"]),
        (Filters(files=("space.pdf",)), ["space.pdf"]),
        (Filters(folder="animals"), ["animals/bees.txt", "animals/otter.md"]),
        (Filters(folder="/animals/"), ["animals/bees.txt", "animals/otter.md"]),
        (Filters(folder="anim"), []),  # a folder is a whole path part, not a prefix
        (Filters(extensions=("PDF",)), ["kitchen/tea.pdf", "space.pdf"]),
        (Filters(folder="kitchen", extensions=(".md",)), []),
    ],
)
def test_filters_allow(filters, allowed):
    paths = sorted(c[0] for c in CHUNKS.values())
    assert [p for p in paths if filters.allows(path_fields(p))] == allowed


def test_filters_as_a_chroma_where():
    assert Filters().chroma_where() is None
    assert Filters(files=("a.md",)).chroma_where() == {"path": {"$in": ["a.md"]}}
    assert Filters(files=("a.md",), extensions=("md",)).chroma_where() == {
        "$and": [{"path": {"$in": ["a.md"]}}, {"ext": {"$in": [".md"]}}]
    }
    assert Filters(folder="x").empty is False and Filters().empty is True


# --- the retriever ---------------------------------------------------------------------


def test_search_modes_are_the_three_the_retriever_accepts():
    assert SEARCH_MODES == ("vector", "keyword", "hybrid")


@pytest.mark.parametrize("mode", SEARCH_MODES)
def test_each_mode_finds_the_chunk_that_shares_the_words(retriever, mode):
    passages = retriever.search("otters juggle pebbles", k=1, mode=mode)
    assert [(p.id, p.file, p.page) for p in passages] == [("otter", "animals/otter.md", 1)]


def test_similarity_is_the_cosine_to_the_query_whatever_the_mode(retriever):
    vector = retriever.search("green tea", k=1, mode="vector")[0]
    hybrid = retriever.search("green tea", k=1, mode="hybrid")[0]
    keyword = retriever.search("green tea", k=1, mode="keyword")[0]
    assert vector.id == hybrid.id == keyword.id == "tea"
    assert (
        vector.similarity == pytest.approx(hybrid.similarity) == pytest.approx(keyword.similarity)
    )
    assert vector.similarity == pytest.approx(2 / (2**0.5 * 7**0.5), abs=1e-6)  # 2 of 7 words


def test_hybrid_rrf_fuses_the_two_rankings(retriever):
    retriever.fusion = Fusion("rrf", vector_weight=0.5, rrf_k=60)
    passages = retriever.search("degrees", k=4, mode="hybrid")
    fused = reciprocal_rank_fusion(
        [
            [p.id for p in retriever.search("degrees", k=10, mode="vector")],
            [p.id for p in retriever.search("degrees", k=10, mode="keyword")],
        ]
    )
    assert [p.id for p in passages] == sorted(fused, key=lambda i: (-fused[i], i))[:4]
    assert passages[0].score == pytest.approx(max(fused.values()))


def test_hybrid_convex_adds_each_sides_scaled_scores(retriever):
    retriever.fusion = Fusion("convex", vector_weight=0.7)
    vector = retriever.search("degrees tea", k=10, mode="vector")
    keyword = retriever.search("degrees tea", k=10, mode="keyword")

    def scaled(values: dict[str, float]) -> dict[str, float]:
        low, high = min(values.values()), max(values.values())
        return {i: (v - low) / (high - low) if high > low else 1.0 for i, v in values.items()}

    v = scaled({p.id: p.similarity for p in vector})
    kw = scaled({p.id: p.score for p in keyword})
    expected = {i: 0.7 * v.get(i, 0.0) + 0.3 * kw.get(i, 0.0) for i in v | kw}
    passages = retriever.search("degrees tea", k=3, mode="hybrid")
    assert [p.id for p in passages] == sorted(expected, key=lambda i: (-expected[i], i))[:3]
    assert passages[0].score == pytest.approx(max(expected.values()))
    assert passages[0].id == "tea"


def test_an_unknown_fusion_is_an_error():
    with pytest.raises(ValueError, match="unknown fusion"):
        Fusion("max").scores([], [])


def test_relevance_floor_drops_weak_passages(retriever):
    assert retriever.search("otters", k=4, mode="vector", floor=0.99) == []
    weak = retriever.search("otters river", k=4, mode="vector", floor=0.3)
    assert [p.id for p in weak] == ["otter"]


def test_filters_apply_in_every_mode(retriever):
    for mode in SEARCH_MODES:
        passages = retriever.search("degrees", k=4, mode=mode, filters=Filters(folder="kitchen"))
        assert [p.id for p in passages] == ["tea"], mode


def test_uncommitted_chunks_are_left_out(tmp_path, retriever):
    retriever.uncommitted = lambda ids: {"tea"} & set(ids)
    assert "tea" not in [p.id for p in retriever.search("green tea", k=4, mode="vector")]


def test_an_unknown_mode_is_refused(retriever):
    with pytest.raises(ValueError, match="vector, keyword, hybrid"):
        retriever.search("tea", mode="fuzzy")  # type: ignore[arg-type]


# --- abstention ---------------------------------------------------------------------------


def hit(similarity: float, score: float = 0.0):
    from vectorstore.passage import Passage

    return Passage("x", "text", metadata("a.md", None), score, similarity)


def test_abstention_needs_both_signals_low():
    from vectorstore.abstention import Abstention

    rule = Abstention(min_similarity=0.5, min_coverage=0.8)
    otter = Passage("o", "Otters juggle smooth pebbles", metadata("a.md", None), 1.0, 0.3)
    assert rule.out_of_scope("Why do otters juggle pebbles?", [hit(0.4)], [otter]) is False
    assert rule.out_of_scope("Why do otters juggle coconuts?", [hit(0.4)], [otter]) is True
    assert rule.out_of_scope("Why do otters juggle coconuts?", [hit(0.6)], [otter]) is False
    assert rule.out_of_scope("Kubernetes autoscaling", [], []) is True


def test_coverage_counts_stemmed_content_words_and_identifier_parts():
    from vectorstore.abstention import coverage

    text = Passage("x", "Call install.packages() to install packages from CRAN.", {}, 1, 1)
    assert coverage("How do I install packages?", [text]) == 1.0  # stems; "how do I" ignored
    assert coverage("What does read.csv read?", [text]) == 0.0
    assert coverage("installing packages from GitHub", [text]) == pytest.approx(2 / 3)
    assert coverage("How do I?", [text]) == 0.0


def test_an_out_of_scope_question_finds_nothing_unless_abstention_is_skipped(retriever):
    from vectorstore.abstention import Abstention

    retriever.abstention = Abstention(min_similarity=0.99, min_coverage=0.8)
    assert retriever.search("Why do otters juggle coconuts?", k=2, mode="hybrid") == []
    assert retriever.search("Why do otters juggle coconuts?", k=2, mode="vector") == []
    skipped = retriever.search("Why do otters juggle coconuts?", k=2, abstain=False)
    assert skipped[0].file == "animals/otter.md"
    assert retriever.search("Why do otters juggle pebbles?", k=1, mode="hybrid")[0].id == "otter"
