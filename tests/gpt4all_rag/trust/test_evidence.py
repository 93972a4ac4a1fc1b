"""Evidence selection with the hash embedder: the right sentence, in budget, once, in one batch."""

from __future__ import annotations

from gpt4all_rag.answer import Source
from gpt4all_rag.testing import HashEmbedder, hash_vector
from gpt4all_rag.trust.embedding import CachedEmbedder
from gpt4all_rag.trust.evidence import Evidence, select_evidence
from gpt4all_rag.trust.quotable import EvidenceRules, sentence_candidates
from gpt4all_rag.trust.text import word_count

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


def test_the_word_budget_holds():
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


def test_the_default_budget_holds_three_long_sentences():
    sentences = [
        f"Packages install from {place} when the user runs the installer with the right "
        f"library folder and a working internet connection to the {place} server."
        for place in ("CRAN mirrors", "local tarballs", "git repositories")
    ]
    assert [word_count(s) for s in sentences] == [26, 26, 26]  # 78: over 60, within 80
    evidence = select_evidence(
        "Do packages install from CRAN mirrors, local tarballs, git repositories?",
        [source(1, " ".join(sentences))],
        HashEmbedder(),
    )
    assert len(evidence) == 3


def test_the_budget_can_be_in_words_only():
    short = (
        "Packages install from CRAN mirrors. Packages install from local tarballs. "
        "Packages install from git repositories. Packages install from binary builds."
    )
    question = "Do packages install from CRAN mirrors, local tarballs, git repositories, builds?"
    evidence = select_evidence(
        question, [source(1, short)], HashEmbedder(), rules=EvidenceRules(max_sentences=None)
    )
    assert len(evidence) == 4  # four short sentences fit in the budget: no cap at three
    assert len(select_evidence(question, [source(1, short)], HashEmbedder())) == 3


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


# --- the levers of docs/benchmarks.md (evidence that carries the answer) --------------

TOC = (
    "3.1 What is S? . . . . . . . . . . . . . . . . . . . . . . 4\n"
    "3.2 What is R? . . . . . . . . . . . . . . . . . . . . . . 5\n"
    "Function and variable index. . . . . . . . . . . . . . . 120\n"
)
S_IS = "S is a very high level language and an environment for data analysis and graphics."


def test_table_of_contents_and_index_rows_are_never_quoted():
    evidence = select_evidence("What is S?", [source(1, TOC), source(2, S_IS)], HashEmbedder())
    assert [e.text for e in evidence] == [S_IS]


def test_the_identifier_rule_favours_the_sentence_naming_the_function():
    # A lever measured and left off by default (no gain on the dev set): the rule works.
    generic = "Packages can be downloaded from CRAN and installed from within R."
    named = "Use install.packages() for this."
    evidence = select_evidence(
        "Which function should I call to install a package from CRAN?",
        [source(1, f"{generic} {named}")],
        HashEmbedder(),
        rules=EvidenceRules(identifiers=True, identifier_weight=0.2),
    )
    assert evidence[0].text == named
    plain = select_evidence(
        "Which function should I call to install a package from CRAN?",
        [source(1, f"{generic} {named}")],
        HashEmbedder(),
    )
    assert plain[0].text == generic


def test_a_sentence_that_introduces_code_is_quoted_with_its_code_line():
    text = (
        "The function outer() needs a vectorized function. "
        "Then you can use outer() by writing, e.g.,\n"
        "    outer(1:3, 1:2, Vectorize(f))\n"
        "The result is a matrix of the function's values."
    )
    evidence = select_evidence(
        "How do I use outer() with my function?", [source(1, text)], HashEmbedder()
    )
    assert "Then you can use outer() by writing, e.g., outer(1:3, 1:2, Vectorize(f))" in [
        e.text for e in evidence
    ]


def test_the_heading_rule_quotes_what_follows_a_faq_heading_not_the_heading():
    # A lever measured and left off by default (the dev set has no FAQ): the rule works.
    faq = (
        "7.17 Why does outer() behave strangely with my function?\n"
        "As the help page for outer() says, it requires a vectorized function. "
        "Vectorize() makes one from any function.\n"
        "7.18 Why does the output not print?\n"
        "Printing happens at the top level only."
    )
    evidence = select_evidence(
        "Why does outer() behave strangely with my function?",
        [source(1, faq)],
        HashEmbedder(),
        rules=EvidenceRules(after_heading=True),
    )
    texts = [e.text for e in evidence]
    assert texts[:2] == [
        "As the help page for outer() says, it requires a vectorized function.",
        "Vectorize() makes one from any function.",
    ]
    assert not any(t.startswith("7.1") for t in texts)
