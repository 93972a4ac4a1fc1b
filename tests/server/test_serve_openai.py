"""The real server driven by the ``openai`` Python client, as any OpenAI tool would."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI

from tests.helpers.serving import CONTENT, REACTOR, REPLY, TOKEN, Serving


def client_for(url: str, api_key: str = TOKEN) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=api_key, max_retries=0, timeout=30)


def test_models_and_a_whole_answer(serving: Serving):
    with serving() as url:
        client = client_for(url)
        assert [m.id for m in client.models.list()] == ["gpt4all-rag"]
        completion = client.chat.completions.create(
            model="gpt4all-rag", messages=[{"role": "user", "content": REACTOR}]
        )
    assert completion.choices[0].message.content == CONTENT
    assert completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra or {}
    assert [(s["number"], s["file"], s["page"]) for s in extra["sources"] if s["cited"]] == [
        (1, "manual.pdf", 2)
    ]
    assert extra["answer"]["answer"] == REPLY


def test_a_streamed_answer_and_its_sources_on_the_last_chunk(serving: Serving):
    with serving() as url:
        stream = client_for(url).chat.completions.create(
            model="gpt4all-rag", messages=[{"role": "user", "content": REACTOR}], stream=True
        )
        chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == CONTENT
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert [s["file"] for s in (last.model_extra or {})["sources"] if s["cited"]] == ["manual.pdf"]


def test_extensions_travel_in_extra_body(serving: Serving):
    with serving() as url:
        completion = client_for(url).chat.completions.create(
            model="anything",
            messages=[{"role": "user", "content": "How long do queen bees live?"}],
            extra_body={"k": 1, "filters": {"files": ["notes.md"]}},
        )
    assert [s["file"] for s in (completion.model_extra or {})["sources"]] == ["notes.md"]
    assert completion.model == "gpt4all-rag"


def test_a_follow_up_sends_the_history_with_our_footnotes_taken_off(serving: Serving):
    from tests.helpers.fake_llms import EchoLLM

    llm = EchoLLM(delay_s=0)
    with serving(llm=llm, rewrite_follow_ups_with_model=True) as url:
        client = client_for(url)
        first = client.chat.completions.create(
            model="gpt4all-rag", messages=[{"role": "user", "content": REACTOR}]
        )
        client.chat.completions.create(
            model="gpt4all-rag",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": REACTOR},
                {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": "And the pressure?"},
            ],
        )
    condense_prompt = "\n".join(m["content"] for m in llm.prompts[1])
    assert f"You asked: {REACTOR} [1]" in condense_prompt  # the answer as the model wrote it
    assert "[^1]" not in condense_prompt and "Be brief." not in condense_prompt


def test_the_token_is_the_api_key(serving: Serving):
    with serving() as url:
        with pytest.raises(openai.AuthenticationError):
            client_for(url, api_key="wrong").models.list()
        completion = client_for(url, api_key=TOKEN).chat.completions.create(
            model="gpt4all-rag", messages=[{"role": "user", "content": REACTOR}]
        )
    assert completion.choices[0].message.content == CONTENT


def test_a_failure_mid_stream_reaches_the_client_as_an_error(serving: Serving):
    from tests.helpers.fake_llms import SlowLLM

    llm = SlowLLM([3], wait_s=0.1)
    llm._context.acquire()  # the model is held elsewhere: the answer fails when it starts
    with serving(llm=llm) as url:
        stream = client_for(url).chat.completions.create(
            model="gpt4all-rag", messages=[{"role": "user", "content": REACTOR}], stream=True
        )
        with pytest.raises(openai.APIError, match="still held by an unfinished answer"):
            list(stream)
