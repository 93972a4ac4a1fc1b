"""Seed questions from the documents' own sentences and headings (no model)."""

from __future__ import annotations

from gpt4all_rag.finetune.questions import (
    definition_question,
    heading_question,
    how_to_question,
    naming_question,
    seeds_from_chunks,
    sentences,
)


def test_how_to_sentences_become_how_do_i_questions():
    assert how_to_question(
        "To remove temporarily the effects of class, use the function unclass()."
    ) == ("How do I remove temporarily the effects of class?")
    assert how_to_question("Use R CMD build to make a tarball of your package.") == (
        "How do I make a tarball of my package?"
    )
    assert how_to_question("The break statement can be used to terminate any loop.") == (
        "How do I terminate any loop?"
    )
    assert how_to_question("R is a language and environment for statistics.") is None


def test_a_naming_sentence_asks_for_its_identifier():
    question = naming_question("The function install.packages() installs packages from CRAN.")
    assert question == "Which function installs packages from CRAN?"
    assert (
        naming_question("The manual installs nothing on its own at all.") is None
    )  # no identifier


def test_definitions_and_headings():
    assert definition_question("A syntactic name is a string the parser reads.") == (
        "What is a syntactic name?"
    )
    assert definition_question("The first value is the number of rows.") is None  # vague
    assert heading_question("Chapter 5 › 5.3 Installing packages") == "How do I install packages?"
    assert heading_question("Writing R extensions") == "How do I write R extensions?"
    assert heading_question("Introduction") is None


def test_sentences_join_lines_and_skip_fragments():
    text = "Short one.\nTo build a package,\nrun R CMD build in its parent folder. Tiny."
    assert sentences(text) == ["To build a package, run R CMD build in its parent folder."]


def test_seeds_keep_where_the_sentence_is_and_skip_the_page_header():
    chunks = [
        (
            "Chapter 4 21 4.1 Running R under macOS There are two ways to run R on macOS "
            "from a binary. To stop R, type q() at the prompt of the console.",
            {"path": "R-admin.pdf", "page": 21, "heading": "4.1 Running R under macOS"},
        )
    ]
    seeds = list(seeds_from_chunks(chunks))
    kinds = {s.kind: s for s in seeds}
    assert kinds["how-to"].question == "How do I stop R?"
    assert kinds["how-to"].sentence == "To stop R, type q() at the prompt of the console."
    assert kinds["heading"].question == "How do I run R under macOS?"
    assert kinds["heading"].sentence == "There are two ways to run R on macOS from a binary."
    assert {(s.file, s.page) for s in seeds} == {("R-admin.pdf", 21)}
