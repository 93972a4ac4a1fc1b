"""Sentence splitting of PDF text and answers, words, terms: exact."""

from __future__ import annotations

from gpt4all_rag.trust.text import content_terms, normalise, sentence_spans, split_sentences, words

PDF_PAGE = """6.1 Installing packages
Packages are installed from CRAN with the func-
tion install.packages, which downloads the source
and builds it. Installation needs write access to the library, e.g. the
site library.
• A binary package needs no compiler.
• Source packages need Rtools on Windows.
install.packages("foo", lib = "~/R")
Then load it with library(foo). See Fig. 3 for details."""


def test_pdf_text_becomes_readable_sentences():
    assert split_sentences(PDF_PAGE) == [
        "Packages are installed from CRAN with the function install.packages, "
        "which downloads the source and builds it.",
        "Installation needs write access to the library, e.g. the site library.",
        "A binary package needs no compiler.",
        "Source packages need Rtools on Windows.",
        'install.packages("foo", lib = "~/R")',
        "Then load it with library(foo).",
        "See Fig. 3 for details.",
    ]


def test_markers_after_a_full_stop_stay_with_their_sentence():
    assert split_sentences("It is 42. [1] Next one [2]. [3]") == [
        "It is 42. [1]",
        "Next one [2]. [3]",
    ]


def test_real_hyphens_survive_a_line_break():
    text = (
        "See R-\nexts and the C-\nlevel API of the command-\nline tool. The command-line is long."
    )
    assert split_sentences(text) == [
        "See R-exts and the C-level API of the command-line tool.",
        "The command-line is long.",
    ]


def test_words_keep_identifiers_whole_and_drop_markers():
    assert words("Call install.packages() or base::c, x$y [1]; R_HOME is 3.14.") == [
        "call",
        "install.packages",
        "or",
        "base::c",
        "x$y",
        "r_home",
        "is",
        "3.14",
    ]


def test_content_terms_are_stemmed_without_stop_words_and_keep_identifier_parts():
    assert content_terms("Which function installs packages with install.packages?") == {
        "function",
        "instal",
        "packag",
        "install.packages",
    }


def test_normalise_ignores_case_punctuation_and_markers():
    assert (
        normalise("The Answer, is: 42 [1].")
        == normalise("the answer is 42! [2]")
        == "the answer is 42"
    )


def test_sentence_spans_keep_the_answer_as_written():
    answer = (
        "First, install it [1]. Then load it. [2]\n- A bullet item\n  - nested, e.g. this one.\n"
    )
    spans = sentence_spans(answer)
    assert [answer[a:b] for a, b in spans] == [
        "First, install it [1].",
        "Then load it. [2]",
        "A bullet item",
        "nested, e.g. this one.",
    ]
