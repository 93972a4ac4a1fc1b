"""The bearer token, loopback-only without one, and the Host check against DNS rebinding."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gpt4all_rag.assistant import DocumentAssistant
from gpt4all_rag.cli import main
from gpt4all_rag.server import BackgroundServer, InsecureBind, check_bind, create_app, is_loopback
from tests.gpt4all_rag.server.conftest import REACTOR, Serving, fake_settings

TOKEN = "s3cret-token"
ROUTES = [
    ("GET", "/v1/models", None),
    ("GET", "/v1/status", None),
    ("POST", "/v1/search", {"query": "reactor"}),
    ("POST", "/v1/ingest", None),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": REACTOR}]}),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", TOKEN],
)
def test_every_api_route_refuses_a_missing_or_wrong_token(serving: Serving, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    with serving(serve_token=TOKEN) as url, httpx.Client(base_url=url, headers=headers) as client:
        for method, path, body in ROUTES:
            response = client.request(method, path, json=body)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["error"]["type"] == "authentication_error"
        assert client.get("/health").json() == {"status": "ok"}  # liveness needs no token


def test_the_right_token_opens_every_route(serving: Serving):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with serving(serve_token=TOKEN) as url, httpx.Client(base_url=url, headers=headers) as client:
        statuses = [client.request(m, p, json=b).status_code for m, p, b in ROUTES]
    assert statuses == [200] * len(ROUTES)


def test_without_a_token_only_loopback_host_names_are_answered(serving: Serving):
    with serving() as url, httpx.Client(base_url=url) as client:
        port = url.rsplit(":", 1)[1]
        for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            assert client.get("/v1/models", headers={"Host": host}).status_code == 200, host
        refused = client.get("/v1/models", headers={"Host": f"attacker.example:{port}"})
    assert refused.status_code == 400
    assert "attacker.example" in refused.json()["error"]["message"]


def test_with_a_token_any_host_name_is_answered(serving: Serving):
    headers = {"Authorization": f"Bearer {TOKEN}", "Host": "nas.home.arpa:8765"}
    with serving(serve_token=TOKEN) as url, httpx.Client(base_url=url) as client:
        assert client.get("/v1/models", headers=headers).status_code == 200


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


def test_binding_beyond_loopback_needs_a_token(indexed: tuple[Path, Path]):
    with pytest.raises(InsecureBind, match="refusing to serve on 0.0.0.0 without a token"):
        check_bind("0.0.0.0", token_required=False)
    check_bind("0.0.0.0", token_required=True)
    check_bind("127.0.0.1", token_required=False)
    settings = fake_settings(*indexed, serve_token="   ")  # blank is no token
    app = create_app(DocumentAssistant.from_settings(settings), settings)
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
