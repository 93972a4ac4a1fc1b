"""BM25 terms for technical manuals: identifiers whole and split, question words dropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vectorstore.keyword import KeywordIndex, query_stems

CHUNKS = {
    "inst": "Use install.packages() to add a package from CRAN to the library.",
    "csv": "The function read.csv reads a comma separated file into a data frame.",
    "home": "The variable R_HOME names the folder where R is installed.",
    "other": "Packages may install documentation and demos; loading is separate.",
    "titled": "It is run first, before any other code.",
}
HEADINGS = {"titled": "Startup › The .Rprofile file"}


@pytest.fixture
def index(tmp_path: Path) -> KeywordIndex:
    index = KeywordIndex(tmp_path / "keywords")
    ids = list(CHUNKS)
    metas = [{"path": f"{i}.txt", "ext": ".txt", "heading": HEADINGS.get(i, "")} for i in ids]
    index.stage(ids, [CHUNKS[i] for i in ids], metas)  # type: ignore[misc]
    index.commit(ids, fetch=lambda batch: [])
    return index


def top(index: KeywordIndex, query: str) -> str:
    hits = index.search(query, k=3)
    return hits[0].id if hits else ""


@pytest.mark.parametrize(
    "query",
    ["install.packages", "How do I use install.packages?", "install packages from CRAN"],
)
def test_a_dotted_identifier_is_found_whole_and_by_its_parts(index, query):
    assert top(index, query) == "inst"


def test_the_whole_identifier_outranks_its_parts(index):
    hits = {h.id: h.score for h in index.search("install.packages", k=5)}
    assert hits["inst"] > hits.get("other", 0.0)


def test_underscored_and_dotted_names(index):
    assert top(index, "what is R_HOME") == "home"
    assert top(index, "home folder variable") == "home"
    assert top(index, "read.csv") == "csv"
    assert top(index, "how do I read a csv file") == "csv"


def test_the_heading_trail_is_searchable(index):
    assert top(index, "Rprofile") == "titled"


def test_question_words_are_not_search_terms():
    assert query_stems("How do I write what you want?") == ["write"]
    assert "instal" in query_stems("How should I install it?")


def test_scores_read_with_numpy_equal_bm25s_own(index):
    import bm25s
    import numpy as np

    from vectorstore.keyword import query_stems

    own = bm25s.BM25.load(str(index.folder / "bm25"))
    for query in ("install packages from CRAN", "R_HOME folder", "csv file csv"):
        terms = [t for t in query_stems(query) if t in own.vocab_dict]
        index.search(query, k=1)  # loads the saved scores
        assert np.allclose(index._bm25.scores(terms), own.get_scores(terms), atol=1e-6)


def test_the_stop_words_are_bm25s_english_ones():
    from bm25s.stopwords import STOPWORDS_EN

    from vectorstore.keyword import STOP_WORDS

    assert frozenset(STOPWORDS_EN) == STOP_WORDS


def test_bm25_parameters_shape_the_scores_and_are_bm25s_own(tmp_path: Path) -> None:
    """k1 and b reach bm25s: its scores with them are ours, and other values score otherwise."""
    import bm25s

    ids = list(CHUNKS)
    metas = [{"path": f"{i}.txt", "ext": ".txt"} for i in ids]
    scores = {}
    for k1, b in ((0.9, 0.4), (1.5, 0.75)):
        index = KeywordIndex(tmp_path / f"k{k1}", k1=k1, b=b)
        index.stage(ids, [CHUNKS[i] for i in ids], metas)  # type: ignore[misc]
        index.commit(ids, fetch=lambda batch: [])
        index._ensure_loaded()
        own = bm25s.BM25.load(str(index.folder / "bm25"))
        assert (own.k1, own.b) == (k1, b)
        terms = [
            t for t in query_stems("install packages into the library") if t in index._bm25.vocab
        ]
        assert np.allclose(index._bm25.scores(terms), own.get_scores(terms), atol=1e-6)
        scores[k1] = index._bm25.scores(terms)
    assert not np.allclose(scores[0.9], scores[1.5])


def test_an_index_saved_with_other_bm25_parameters_is_stale(tmp_path: Path) -> None:
    """Changing k1 or b in the settings rebuilds the keyword index on the next ingest."""
    ids = list(CHUNKS)
    metas = [{"path": f"{i}.txt", "ext": ".txt"} for i in ids]
    built = KeywordIndex(tmp_path / "kw", k1=0.9, b=0.4)
    built.stage(ids, [CHUNKS[i] for i in ids], metas)  # type: ignore[misc]
    built.commit(ids, fetch=lambda batch: [])
    assert KeywordIndex(tmp_path / "kw", k1=0.9, b=0.4).exists()
    assert not KeywordIndex(tmp_path / "kw", k1=1.2, b=0.4).exists()
    assert not KeywordIndex(tmp_path / "kw", k1=0.9, b=0.75).exists()
