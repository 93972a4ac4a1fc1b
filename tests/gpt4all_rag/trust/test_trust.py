"""The trust steps wired by ``DocumentAssistant.from_settings``: evidence first, loops cut,
missing markers attributed, invented sentences flagged (issue 9), on the fakes."""

from __future__ import annotations

import pytest

from gpt4all_rag import Answer, Settings
from gpt4all_rag.answering.flow import EvidenceEvent, TokenEvent
from gpt4all_rag.cli.ask import stream_answer
from gpt4all_rag.settings import bundled_gguf
from gpt4all_rag.testing import HashEmbedder, ScriptedLLM

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


def test_a_fluent_sentence_with_an_invented_name_and_version_is_flagged(docs_copy, make_assistant):
    # Issue 25, item 2: on topic and close in words, so its support score passes; the
    # names it adds are not in the passage. The same reply without them stays supported.
    invented = (
        "The reactor's `core_temp()` setting, added in version 3.0.0, keeps it at 451 kelvin."
    )
    # the hash embedder scores lower than MiniLM: a threshold the sentence's score passes
    assistant = ready(docs_copy, make_assistant, [f"{FACT} {invented}"], support_threshold=0.4)
    answer = assistant.ask(REACTOR)
    assert [s.text for s in answer.unsupported] == [invented]
    assert answer.unsupported[0].reason == (
        "names “core_temp”, “3.0.0”, which your documents do not contain here"
    )
    assert [s.supported for s in answer.sentences] == [True, False]
    assert answer.unsupported[0].support >= assistant.settings.support_threshold


def test_the_bundled_model_answers_with_quotes_and_a_chosen_model_with_both(tmp_path):
    # Issue 25, item 4: the 135M model's draft was right less often than wrong on the
    # dev set, so by default only the quotes are shown; a model the person picks writes.
    other = tmp_path / "bigger.gguf"
    other.write_bytes(b"GGUF")
    assert Settings().resolved_answer_style() == "evidence"
    assert Settings(model_path=bundled_gguf()).resolved_answer_style() == "evidence"
    assert Settings(model_path=other).resolved_answer_style() == "both"
    assert Settings(llm_backend="openai").resolved_answer_style() == "both"
    # an adapter the person trained is a model they picked: its answer is shown
    assert Settings(lora_path=tmp_path / "adapter.gguf").resolved_answer_style() == "both"
    assert Settings(model_path=other, answer_style="generate").resolved_answer_style() == (
        "generate"
    )


def test_a_model_handed_to_the_assistant_writes_beside_the_quotes(docs_copy, make_assistant):
    assistant = ready(docs_copy, make_assistant, ["It is 451 kelvin [1]."])
    assert assistant.settings.resolved_answer_style() == "both"
    events = list(assistant.events(REACTOR))
    assert any(isinstance(e, EvidenceEvent) for e in events)
    assert events[-1].text == "It is 451 kelvin [1]."


def test_the_cli_marks_a_failed_answer_as_the_models_draft(docs_copy, make_assistant, capsys):
    invented = "Its `core_temp()` setting keeps the reactor at 451 kelvin."
    assistant = ready(docs_copy, make_assistant, [invented], support_threshold=0.4)
    stream_answer(assistant, REACTOR, [], None, quiet=False)
    out = capsys.readouterr().out
    draft = out.index(
        "! Draft by the model, not confirmed by your documents: 1 of its 1 statements failed "
        "the source check (names “core_temp”, which your documents do not contain here)"
    )
    assert out.index("Evidence:") < out.index(invented) < draft
