"""Focused passages: the model reads the sentences on the question; sources stay whole."""

from __future__ import annotations

from pathlib import Path

from gpt4all_rag.testing import HashEmbedder, ScriptedLLM
from gpt4all_rag.trust.focus import GAP, focus_passages
from vectorstore.passage import Passage

MANUAL = (
    "R packages are installed with install.packages from a repository. "
    "Memory is managed by a garbage collector that runs when it is needed. "
    "Datasets load lazily when the DESCRIPTION file has the field LazyData set to true. "
    "Vignettes are built by R CMD build before the package is checked. "
    "Graphics devices draw plots on screens and in files."
)


def passage(text: str, chunk_id: str = "c1", page: int = 3) -> Passage:
    return Passage(chunk_id, text, {"path": "R-exts.pdf", "page": page, "chunk": 0}, 0.9, 0.6)


def test_a_passage_keeps_its_best_sentences_in_document_order() -> None:
    question = "How do I make datasets load lazily with LazyData in the DESCRIPTION file?"
    [focused] = focus_passages(question, [passage(MANUAL)], HashEmbedder(), max_words=16)
    assert "LazyData set to true" in focused.text
    assert "Graphics devices" not in focused.text and "garbage collector" not in focused.text
    assert focused.text.startswith(GAP.strip()) and focused.text.endswith(GAP.strip())
    assert len(focused.text.split()) <= 16 + 2  # the budget, plus the two gap marks


def test_everything_but_the_text_is_kept() -> None:
    original = passage(MANUAL, "chunk-7", page=12)
    [focused] = focus_passages("garbage collector memory", [original], HashEmbedder(), 12)
    assert focused.text != original.text
    assert (focused.id, focused.metadata, focused.score, focused.similarity) == (
        original.id,
        original.metadata,
        original.score,
        original.similarity,
    )


def test_the_chosen_sentences_read_in_their_order_with_gaps_only_where_text_went() -> None:
    question = "install.packages repository and R CMD build vignettes"
    [focused] = focus_passages(question, [passage(MANUAL)], HashEmbedder(), 24)
    first = focused.text.index("install.packages")
    later = focused.text.index("Vignettes are built")
    assert first < later  # document order, not score order
    assert not focused.text.startswith(GAP.strip())  # the first sentence is kept: no leading gap
    assert GAP.strip() in focused.text[first:later]  # the garbage collector went between them


def test_short_passages_and_an_off_budget_are_left_whole() -> None:
    short = passage("Only one short sentence here about lazy loading.")
    embedder = HashEmbedder()
    assert focus_passages("lazy loading", [short], embedder, 60) == [short]
    assert embedder.calls == []  # nothing to choose from: nothing embedded
    whole = passage(MANUAL)
    assert focus_passages("lazy", [whole], embedder, 1000) == [whole]


def test_a_long_one_sentence_passage_does_not_shift_the_others() -> None:
    """Each passage is scored on its own sentences, whatever the passages before it hold."""
    one_sentence = passage(" ".join(["lorem"] * 30) + " ipsum.", "c0")
    question = "LazyData DESCRIPTION datasets load lazily"
    alone = focus_passages(question, [passage(MANUAL)], HashEmbedder(), 16)[0]
    first, second = focus_passages(question, [one_sentence, passage(MANUAL)], HashEmbedder(), 16)
    assert first == one_sentence and second.text == alone.text
    assert "LazyData set to true" in second.text


def test_the_best_sentence_is_kept_even_over_the_budget() -> None:
    question = "LazyData DESCRIPTION datasets"
    [focused] = focus_passages(question, [passage(MANUAL)], HashEmbedder(), 3)
    assert "LazyData" in focused.text


def test_the_model_reads_focused_passages_and_the_sources_stay_whole(
    docs_copy: Path, make_assistant
) -> None:
    llm = ScriptedLLM(["Queens live for years [1]."])
    assistant = make_assistant(docs_copy, llm=llm, focus_words=12)
    assistant.ingest()
    answer = assistant.ask("How long can queen bees live?")
    prompt = llm.prompts[-1][-1]["content"]
    assert answer.sources and all(len(s.text.split()) > 12 for s in answer.sources[:1])
    assert answer.sources[0].text not in prompt  # the model got less than the source
    assert GAP.strip() in prompt
    whole = make_assistant(docs_copy, llm=(plain := ScriptedLLM(["Years [1]."])))
    whole.ask("How long can queen bees live?")
    assert len(prompt) < len(plain.prompts[-1][-1]["content"])
