"""Evidence selection with the hash embedder: the right sentence, in budget, once, in one batch."""

from __future__ import annotations

from gpt4all_rag.answer import Source
from gpt4all_rag.evidence import CachedEmbedder, Evidence, select_evidence, sentence_candidates
from gpt4all_rag.testing import HashEmbedder, hash_vector
from gpt4all_rag.text import word_count

INSTALL = (
    "Packages are installed from CRAN with the function install.packages. "
    "The library folder must be writable by the user. "
    "Binary packages are available for Windows and macOS."
)
LOAD = (
    "A package is loaded with the function library. "
    "Loading a package attaches it to the search path."
)
UNRELATED = "The reactor core runs at 451 degrees. Coolant flows through twelve loops of pipe."


def source(number: int, text: str, file: str = "R-admin.pdf", page: int | None = 7) -> Source:
    return Source(
        number=number, file=file, page=page, text=text, score=1.0 / number, similarity=0.5
    )


def test_the_sentence_that_answers_comes_first_with_its_source():
    embedder = HashEmbedder()
    evidence = select_evidence(
        "Which function installs packages from CRAN?",
        [source(1, UNRELATED, "reactor.md", None), source(2, INSTALL), source(3, LOAD)],
        embedder,
    )
    assert evidence[0] == Evidence(
        "Packages are installed from CRAN with the function install.packages.",
        source=2,
        file="R-admin.pdf",
        page=7,
        score=evidence[0].score,
    )
    assert [e.score for e in evidence] == sorted((e.score for e in evidence), reverse=True)
    assert all(e.source != 1 for e in evidence)  # nothing about reactors


def test_the_question_and_all_candidates_are_embedded_in_one_batch():
    embedder = HashEmbedder()
    select_evidence("install packages", [source(1, INSTALL), source(2, LOAD)], embedder)
    assert len(embedder.calls) == 1
    assert len(embedder.calls[0]) == 6  # the question, then 3 + 2 sentences
    assert embedder.calls[0][0] == "install packages"


def test_a_cached_embedder_embeds_each_text_once():
    inner = HashEmbedder()
    cached = CachedEmbedder(inner)
    assert cached.embed_documents(["a b", "c", "a b"]) == [
        hash_vector("a b"),
        hash_vector("c"),
        hash_vector("a b"),
    ]
    cached.embed_documents(["c", "d"])
    assert inner.calls == [["a b", "c"], ["d"]]


def test_the_word_budget_and_sentence_cap_hold():
    topics = ["sources", "binaries", "mirrors", "libraries", "updates", "checks"]
    long_text = " ".join(
        f"{topic.title()} matter when packages are installed from CRAN by {name} users."
        for topic, name in zip(
            topics, ["new", "old", "busy", "lazy", "happy", "eager"], strict=True
        )
    )
    evidence = select_evidence(
        "How are packages installed from CRAN?",
        [source(1, long_text)],
        HashEmbedder(),
        max_words=25,
    )
    assert sum(word_count(e.text) for e in evidence) <= 25
    assert len(evidence) == 2  # 10 words each: two fit in 25
    three = select_evidence("How are packages installed?", [source(1, long_text)], HashEmbedder())
    assert len(three) == 3


def test_a_sentence_repeated_by_overlapping_chunks_is_quoted_once_from_the_better_passage():
    evidence = select_evidence(
        "Which function installs packages from CRAN?",
        [source(1, INSTALL, page=3), source(2, INSTALL, page=4)],
        HashEmbedder(),
    )
    texts = [e.text for e in evidence]
    assert len(texts) == len(set(texts))
    assert evidence[0].page == 3


def test_long_chunk_fragments_are_candidates_with_an_ellipsis_where_they_were_cut():
    chunk = (
        "packages can also be installed from a local tarball file. "
        "Packages are installed with install.packages. "
        "The library folder must be writable by the user who"
    )
    assert sentence_candidates(chunk) == [
        "… packages can also be installed from a local tarball file.",
        "Packages are installed with install.packages.",
        "The library folder must be writable by the user who …",
    ]


def test_short_chunk_fragments_are_not_candidates():
    chunk = (
        "ages from the mirror. Packages are installed with install.packages. "
        "The library folder must be"
    )
    assert sentence_candidates(chunk) == ["Packages are installed with install.packages."]


def test_very_short_and_very_long_sentences_are_not_candidates():
    text = "Yes. " + " ".join(["word"] * 61) + ". Packages are installed with install.packages."
    assert sentence_candidates(text) == ["Packages are installed with install.packages."]


def test_no_sources_or_no_question_give_no_evidence():
    assert select_evidence("install?", [], HashEmbedder()) == []
    assert select_evidence("   ", [source(1, INSTALL)], HashEmbedder()) == []


def test_to_json_has_the_fields_the_cli_prints():
    item = Evidence("It is so.", source=2, file="a.pdf", page=3, score=0.123456)
    assert item.to_json() == {
        "text": "It is so.",
        "source": 2,
        "file": "a.pdf",
        "page": 3,
        "score": 0.1235,
    }
