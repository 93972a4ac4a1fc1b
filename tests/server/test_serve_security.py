"""The bearer token (always), other sites, JSON only, limits, and binding beyond loopback."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.cli.main import main
from gpt4all_rag.server.api import create_app, is_loopback
from gpt4all_rag.server.errors import InsecureBind
from gpt4all_rag.server.run import BackgroundServer, check_bind
from gpt4all_rag.testing import fake_settings
from tests.helpers.fake_llms import SlowLLM
from tests.helpers.serving import AUTH, REACTOR, TOKEN, Serving

CHAT = {"messages": [{"role": "user", "content": REACTOR}]}
ROUTES = [
    ("GET", "/v1/models", None),
    ("GET", "/v1/status", None),
    ("POST", "/v1/search", {"query": "reactor"}),
    ("POST", "/v1/ingest", {}),
    ("POST", "/v1/chat/completions", CHAT),
]
POSTS = [(path, body) for method, path, body in ROUTES if method == "POST"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", TOKEN, "Bearer x y"],
)
def test_every_route_refuses_a_missing_or_wrong_token(serving: Serving, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    with serving() as url, httpx.Client(base_url=url, headers=headers) as client:
        for method, path, body in [*ROUTES, ("GET", "/openapi.json", None), ("GET", "/x", None)]:
            response = client.request(method, path, json=body)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["error"]["type"] == "authentication_error"
        assert client.get("/health").json() == {"status": "ok"}  # liveness needs no token


def test_the_right_token_opens_every_route(serving: Serving):
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        statuses = [client.request(m, p, json=b).status_code for m, p, b in ROUTES]
    assert statuses == [200] * len(ROUTES)


def test_without_a_configured_token_one_is_generated_and_required(indexed: tuple[Path, Path]):
    settings = fake_settings(*indexed)  # no serve_token: loopback used to answer anyone
    app = create_app(DocumentAssistant.from_settings(settings), settings)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as client:
        refused = [client.request(m, p, json=b).status_code for m, p, b in ROUTES]
        token = server.token
        allowed = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert refused == [401] * len(ROUTES)
    assert allowed.status_code == 200
    assert len(token) >= 40 and token != create_app(app.state.service.assistant).state.token


def test_with_a_token_any_host_name_is_answered(serving: Serving):
    headers = {**AUTH, "Host": "nas.home.arpa:8765"}
    with serving() as url, httpx.Client(base_url=url) as client:
        assert client.get("/v1/models", headers=headers).status_code == 200


def test_a_cross_site_form_cannot_start_an_ingest(serving: Serving, indexed, tmp_path: Path):
    """What a web page can send to loopback without asking: a form post, no token."""
    ingests: list[bool] = []
    with serving(documents_dir=indexed[0], index_dir=tmp_path / "index") as url:
        form = {
            "Origin": "http://evil.example",
            "Sec-Fetch-Site": "cross-site",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        with httpx.Client(base_url=url) as browser:
            attack = browser.post("/v1/ingest", headers=form)
            with_token = browser.post("/v1/ingest", headers={**form, **AUTH})
        with httpx.Client(base_url=url, headers=AUTH) as client:
            ingests.append(client.get("/v1/status").json()["files"] > 0)
    assert (attack.status_code, with_token.status_code) == (403, 403)
    assert "cross-site" in attack.json()["error"]["message"]
    assert ingests == [False]  # nothing was indexed


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": "http://127.0.0.1.evil.example:{port}"}, 403),
        ({"Origin": "http://127.0.0.1:1"}, 403),  # another local port is another origin
        ({"Origin": "https://127.0.0.1:{port}"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}, 200),
        ({"Sec-Fetch-Site": "none"}, 200),
        ({}, 200),  # curl, scripts, the openai client: no Origin at all
    ],
)
def test_state_changing_routes_refuse_other_origins(serving: Serving, headers, status):
    with serving() as url, httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        port = url.rsplit(":", 1)[1]
        sent = {k: v.format(port=port) for k, v in headers.items()}
        statuses = {
            path: client.post(path, json=body, headers=sent).status_code for path, body in POSTS
        }
    assert statuses == {path: status for path, _ in POSTS}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", None),  # an empty form post
        (b"", "application/x-www-form-urlencoded"),
        (b'{"query": "reactor"}', "text/plain"),
        (b"query=reactor", "multipart/form-data; boundary=x"),
    ],
)
def test_posts_must_be_json(serving: Serving, content, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        statuses = [client.post(p, content=content, headers=headers).status_code for p, _ in POSTS]
        empty_json = client.post("/v1/ingest", headers={"Content-Type": "application/json"})
    assert statuses == [415] * len(POSTS)
    assert empty_json.status_code == 200  # no body is {"force": false}


def test_a_body_over_the_limit_is_refused_declared_or_not(serving: Serving):
    big = json.dumps({"query": "x" * 2_000_000}).encode()

    def chunked():
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    with serving() as url, httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        declared = client.post(
            "/v1/search", content=big, headers={"Content-Type": "application/json"}
        )
        streamed = client.post(
            "/v1/search", content=chunked(), headers={"Content-Type": "application/json"}
        )
        small = client.post("/v1/search", json={"query": "reactor"})
    assert (declared.status_code, streamed.status_code, small.status_code) == (413, 413, 200)
    assert "1000000 bytes" in declared.json()["error"]["message"]


def test_a_question_or_query_over_the_length_limit_gets_a_clear_422(serving: Serving):
    long = "reactor " * 1500  # 12,000 characters, within the body limit
    with serving(serve_max_query_chars=8000) as url, httpx.Client(base_url=url, headers=AUTH) as c:
        search = c.post("/v1/search", json={"query": long})
        chat = c.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": long}]}
        )
        fits = c.post("/v1/search", json={"query": long[:8000]})
    assert (search.status_code, chat.status_code, fits.status_code) == (422, 422, 200)
    assert search.json()["error"]["message"] == (
        "the query is 12000 characters long; this server accepts at most 8000 "
        "(GPT4ALL_RAG_SERVE_MAX_QUERY_CHARS)"
    )
    assert chat.json()["error"]["message"].startswith("the question is 11999 characters long")


def test_a_full_question_queue_answers_429(serving: Serving):
    llm = SlowLLM([400], delay_s=0.01)
    stream = {**CHAT, "stream": True}
    with (
        serving(llm=llm, serve_max_waiting=1) as url,
        httpx.Client(base_url=url, headers=AUTH, timeout=30) as client,
        client.stream("POST", "/v1/chat/completions", json=stream) as answering,
        client.stream("POST", "/v1/chat/completions", json=stream) as waiting,
    ):
        refused = client.post("/v1/chat/completions", json=CHAT)
        state = client.get("/v1/status").json()["server"]
    assert (answering.status_code, waiting.status_code) == (200, 200)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert state["waiting"] + state["busy"] == 2


def test_a_deeply_nested_body_is_a_bad_request_not_a_crash(serving: Serving):
    with serving() as url, httpx.Client(base_url=url, headers=AUTH) as client:
        nested = client.post(
            "/v1/search", content=b"[" * 500_000, headers={"Content-Type": "application/json"}
        )
        after = client.post("/v1/search", json={"query": "reactor"})
    assert (nested.status_code, after.status_code) == (400, 200)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("myhost.lan", False),
        ("", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_binding_beyond_loopback_needs_a_token_the_person_chose(indexed: tuple[Path, Path]):
    with pytest.raises(InsecureBind, match="refusing to serve on 0.0.0.0 without a token"):
        check_bind("0.0.0.0", token_chosen=False)
    check_bind("0.0.0.0", token_chosen=True)
    check_bind("127.0.0.1", token_chosen=False)
    settings = fake_settings(*indexed, serve_token="   ")  # blank is no token
    app = create_app(DocumentAssistant.from_settings(settings), settings)
    assert app.state.token.strip()  # a generated one, which no client elsewhere knows
    with pytest.raises(InsecureBind):
        BackgroundServer(app, host="0.0.0.0")


def test_serve_refuses_a_public_address_without_a_token_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("GPT4ALL_RAG_SERVE_TOKEN", raising=False)

    def never(settings: object) -> DocumentAssistant:
        raise AssertionError("the assistant was built")

    code = main(["serve", "--host", "0.0.0.0", "--index", str(tmp_path / "index")], never)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("gpt4all-rag: error: refusing to serve on 0.0.0.0 without a token")
    assert "GPT4ALL_RAG_SERVE_TOKEN" in err
