"""The trust steps wired by ``DocumentAssistant.from_settings``: evidence first, loops cut,
missing markers attributed, invented sentences flagged (issue 9), on the fakes."""

from __future__ import annotations

import pytest

from gpt4all_rag import Answer
from gpt4all_rag.flow import EvidenceEvent, TokenEvent
from tests.conftest import HashEmbedder, ScriptedLLM

REACTOR = "What core temperature does the Zorblax reactor operate at?"
FACT = "The Zorblax reactor operates at a core temperature of 451 kelvin."


def ready(docs_copy, make_assistant, replies, **overrides):
    assistant = make_assistant(
        docs_copy,
        embedder=HashEmbedder(),
        llm=ScriptedLLM(replies),
        relevance_floor=0.1,
        **overrides,
    )
    assistant.ingest()
    return assistant


def source_of(answer: Answer, text: str) -> int:
    return next(s.number for s in answer.sources if text in s.text)


def test_evidence_comes_before_the_first_token_and_quotes_the_fact(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ["It is 451 kelvin [1]."])
    events = list(assistant.events(REACTOR))
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("EvidenceEvent") < kinds.index("TokenEvent")
    evidence = next(e for e in events if isinstance(e, EvidenceEvent)).evidence
    answer = events[-1]
    assert evidence[0].text == FACT
    assert evidence[0].source == source_of(answer, FACT)
    assert (evidence[0].file, evidence[0].page) == ("manual.pdf", 2)
    assert answer.evidence == evidence


def test_a_looping_answer_is_cut_at_its_first_repeat(docs_copy, make_assistant):
    loop = "The reactor runs at 451 kelvin. " * 12
    assistant = ready(docs_copy, make_assistant, [loop])
    answer = assistant.ask(REACTOR)
    streamed = "".join(e.text for e in assistant.events(REACTOR) if isinstance(e, TokenEvent))
    assert streamed.strip() == "The reactor runs at 451 kelvin."
    assert answer.text.count("451 kelvin") == 1


def test_missing_markers_are_inferred_from_the_supporting_passage(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, [FACT])
    answer = assistant.ask(REACTOR)
    number = source_of(answer, FACT)
    (sentence,) = answer.sentences
    assert (sentence.cited, sentence.inferred, sentence.supported) == ((number,), True, True)
    assert answer.text == FACT[:-1] + f" [{number}]."
    assert answer.cited == (number,)


def test_an_invented_sentence_is_flagged_and_kept(docs_copy, make_assistant):
    invented = "Penguins migrate across the Sahara desert every winter for breeding."
    assistant = ready(docs_copy, make_assistant, [f"{FACT} {invented}"])
    answer = assistant.ask(REACTOR)
    assert [s.text for s in answer.unsupported] == [invented]
    assert invented in answer.text
    assert answer.to_json()["unsupported"] == [invented]


@pytest.mark.parametrize("style", ["evidence", "generate"])
def test_answer_styles(docs_copy, make_assistant, style):
    assistant = ready(docs_copy, make_assistant, ["It is 451 kelvin [1]."], answer_style=style)
    if style == "evidence":
        assistant.flow.llm = lambda: pytest.fail("the model was asked for")
    events = list(assistant.events(REACTOR))
    answer = events[-1]
    has_evidence = any(isinstance(e, EvidenceEvent) for e in events)
    assert has_evidence == (style == "evidence")
    if style == "evidence":
        assert answer.text.startswith(f"{FACT} [{source_of(answer, FACT)}]")
        assert answer.cited == tuple(sorted({e.source for e in answer.evidence}))
    else:
        assert answer.text == "It is 451 kelvin [1]." and answer.evidence == ()
