"""Questions answered in turn, and a client that leaves frees the model."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from gpt4all_rag.server.footnotes import inert_text
from tests.helpers.fake_llms import EchoLLM, SlowLLM
from tests.helpers.serving import AUTH, REACTOR, Serving

CHAT = "/v1/chat/completions"
QUESTIONS = [f"How often is the Zorblax reactor maintained, asks client {n}?" for n in range(6)]


def ask(question: str, stream: bool = False) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": question}], "stream": stream}


def answer_of(client: httpx.Client, question: str, stream: bool) -> str:
    """The message content, read whole or put together from the stream."""
    if not stream:
        return str(client.post(CHAT, json=ask(question)).json()["choices"][0]["message"]["content"])
    with client.stream("POST", CHAT, json=ask(question, stream=True)) as response:
        chunks = [json.loads(line[6:]) for line in response.iter_lines() if line[6:7] == "{"]
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)


def test_concurrent_questions_are_all_answered_one_at_a_time(serving: Serving):
    llm = EchoLLM(delay_s=0.01)
    with serving(llm=llm) as url, httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            answers = list(
                pool.map(lambda n: answer_of(client, QUESTIONS[n], n % 2 == 1), range(6))
            )
        state = client.get("/v1/status").json()["server"]
    for question, answer in zip(QUESTIONS, answers, strict=True):
        assert answer.startswith(inert_text(f"You asked: {question} [1]", 1)), answer
    assert llm.most_active == 1  # in turn, never two generations at once
    assert len(llm.prompts) == 6
    assert state == {"busy": False, "waiting": 0, "answered": 6, "ingesting": False}


def test_status_shows_the_queue_while_answers_wait(serving: Serving):
    llm = SlowLLM([60, 60, 60], delay_s=0.01)
    with (
        serving(llm=llm) as url,
        httpx.Client(base_url=url, headers=AUTH, timeout=60) as client,
        ThreadPoolExecutor(3) as pool,
    ):
        pending = [pool.submit(answer_of, client, REACTOR, False) for _ in range(3)]
        time.sleep(0.3)
        state = client.get("/v1/status").json()["server"]
        answers = [p.result() for p in pending]
    assert state["busy"] is True and state["waiting"] == 2
    assert all(a.startswith("w0 w1 w2") and a.rstrip().endswith("w59") for a in answers)


def test_a_client_leaving_mid_stream_frees_the_model_for_the_next_question(serving: Serving):
    llm = SlowLLM([4000, 5], delay_s=0.005)
    with serving(llm=llm) as url, httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        with client.stream("POST", CHAT, json=ask(REACTOR, stream=True)) as response:
            words = 0
            for line in response.iter_lines():
                words += len(re.findall(r'"content": " ?w\d', line))
                if words >= 5:
                    break  # leaving the block closes the connection mid-answer
        assert llm.closed.wait(5), "the answer was not stopped"
        written = llm.written
        time.sleep(0.2)
        assert llm.written == written < 1000  # it stopped, long before the end
        started = time.monotonic()
        answer = answer_of(client, REACTOR, stream=False)
        took = time.monotonic() - started
        state = client.get("/v1/status").json()["server"]
    assert answer.startswith("w0 w1 w2 w3 w4")
    assert took < 3.0
    assert state == {"busy": False, "waiting": 0, "answered": 1, "ingesting": False}


def test_a_client_that_gives_up_on_a_whole_answer_frees_the_model(serving: Serving):
    llm = SlowLLM([4000, 5], delay_s=0.005)
    with serving(llm=llm) as url:
        with (
            httpx.Client(base_url=url, headers=AUTH, timeout=0.5) as impatient,
            pytest.raises(httpx.ReadTimeout),
        ):
            impatient.post(CHAT, json=ask(REACTOR))
        assert llm.closed.wait(5), "the answer was not stopped"
        assert llm.written < 2000
        with httpx.Client(base_url=url, headers=AUTH, timeout=10) as client:
            assert answer_of(client, REACTOR, stream=False).startswith("w0 w1 w2 w3 w4")


def test_a_question_whose_client_left_while_queued_never_runs(serving: Serving):
    llm = SlowLLM([150, 5, 5], delay_s=0.01)
    with serving(llm=llm) as url, httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(answer_of, client, REACTOR, False)
            time.sleep(0.2)
            with client.stream("POST", CHAT, json=ask(REACTOR, stream=True)) as response:
                next(response.iter_lines())  # the role chunk: queued behind the first answer
            assert first.result().rstrip().endswith("w149")
        answer = answer_of(client, REACTOR, stream=False)
    assert len(llm.prompts) == 2  # the abandoned question never reached the model
    assert answer.startswith("w0 w1 w2 w3 w4")
