"""The network policy of the catalogue fetch and pulls: public https only, unless the caller says.

The addresses come from the system resolver where they are IP literals (no DNS is
asked for those) and from an injected resolver for names, so nothing here uses the
network.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from gpt4all_rag.models.catalogue import fetch_catalogue
from gpt4all_rag.models.errors import CatalogueError, RefusedSource
from gpt4all_rag.models.network import NetworkPolicy, refusal_reason
from tests.helpers.model_files import LOOPBACK, FileServer, catalogue_item

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/m.gguf", "127.0.0.1 is 127.0.0.1, a loopback address"),
        ("https://127.1.2.3:8443/m.gguf", "127.1.2.3 is 127.1.2.3, a loopback address"),
        ("https://10.1.2.3/m.gguf", "10.1.2.3 is 10.1.2.3, a private address"),
        ("https://192.168.0.1/m.gguf", "192.168.0.1 is 192.168.0.1, a private address"),
        ("https://172.16.5.4/m.gguf", "172.16.5.4 is 172.16.5.4, a private address"),
        ("https://169.254.169.254/latest", "169.254.169.254 is 169.254.169.254, a link-local"),
        ("https://[::1]/m.gguf", "::1 is ::1, a loopback address"),
        ("https://[::ffff:127.0.0.1]/m.gguf", "is ::ffff:7f00:1, a loopback address"),
        ("https://[fd00::1]/m.gguf", "fd00::1 is fd00::1, a private address"),
        ("https://0.0.0.0/m.gguf", "0.0.0.0 is 0.0.0.0, a unspecified address"),
        ("https://224.0.0.1/m.gguf", "224.0.0.1 is 224.0.0.1, a multicast address"),
        ("https://100.64.0.1/m.gguf", "100.64.0.1 is 100.64.0.1, a non-public address"),
        ("https://2130706433/m.gguf", "2130706433 is 127.0.0.1, a loopback address"),
    ],
)
def test_the_default_policy_refuses_addresses_that_are_not_public(url: str, reason: str) -> None:
    with pytest.raises(RefusedSource, match=reason.replace(".", r"\.")) as caught:
        NetworkPolicy().check_url(url)

    assert caught.value.url == url


def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    policy = NetworkPolicy(resolve=lambda host, port: ["127.0.0.1"])

    with pytest.raises(RefusedSource) as caught:
        policy.check_url("https://models.example/m.gguf")

    assert str(caught.value) == (
        "refused https://models.example/m.gguf: models.example is 127.0.0.1, a loopback "
        "address; models come only from public addresses"
    )


def test_a_name_with_a_public_and_a_private_address_is_refused() -> None:
    seen: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        seen.append((host, port))
        return [PUBLIC, "10.0.0.1"]

    with pytest.raises(RefusedSource, match=r"is 10\.0\.0\.1, a private address"):
        NetworkPolicy(resolve=resolve).check_url("https://models.example:8443/m.gguf")

    assert seen == [("models.example", 8443)]


def test_https_to_a_public_address_is_allowed_and_plain_http_is_not() -> None:
    policy = NetworkPolicy(resolve=lambda host, port: [PUBLIC, "2606:2800:220:1::1"])

    policy.check_url("https://gpt4all.io/models/models3.json")  # no error

    with pytest.raises(RefusedSource) as caught:
        policy.check_url("http://gpt4all.io/models/models3.json")
    assert str(caught.value) == (
        "refused http://gpt4all.io/models/models3.json: plain http can be read and changed "
        "on the way; an https URL is required"
    )


def test_a_trusted_network_allows_its_addresses_over_http_and_nothing_more() -> None:
    lan = NetworkPolicy(trusted_networks=(ipaddress.ip_network("192.168.1.0/24"),))

    lan.check_url("http://192.168.1.5:8000/m.gguf")
    lan.check_url("https://192.168.1.5/m.gguf")
    with pytest.raises(RefusedSource, match="a private address"):
        lan.check_url("http://192.168.2.5/m.gguf")
    with pytest.raises(RefusedSource, match="a loopback address"):
        lan.check_url("http://127.0.0.1/m.gguf")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/m.gguf", "only https URLs are used"),
        ("file:///etc/passwd", "only https URLs are used"),
        ("https:///m.gguf", "the URL has no host"),
    ],
)
def test_other_schemes_and_hostless_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(RefusedSource, match=reason):
        NetworkPolicy(resolve=lambda host, port: [PUBLIC]).check_url(url)


def test_a_name_that_cannot_be_resolved_is_refused() -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(RefusedSource, match=r"nowhere\.example cannot be resolved"):
        NetworkPolicy(resolve=no_dns).check_url("https://nowhere.example/m.gguf")


def test_public_addresses_have_no_refusal_reason() -> None:
    public = [ipaddress.ip_address(text) for text in (PUBLIC, "8.8.8.8", "2606:4700::1111")]

    assert [refusal_reason(address) for address in public] == [None, None, None]


def test_the_catalogue_fetch_refuses_the_loopback_server_by_default(server: FileServer) -> None:
    url = server.add_catalogue([catalogue_item("a.gguf", b"x", server.base_url + "/a.gguf")])

    with pytest.raises(RefusedSource, match="a loopback address"):
        fetch_catalogue(url)

    assert server.requests == []
    assert [entry.filename for entry in fetch_catalogue(url, policy=LOOPBACK)] == ["a.gguf"]


def test_the_catalogue_fetch_checks_each_redirect(server: FileServer) -> None:
    url = server.add_catalogue([])
    server.redirects = {"/moved.json": "https://169.254.169.254/latest/meta-data/"}

    with pytest.raises(RefusedSource, match="a link-local address"):
        fetch_catalogue(server.base_url + "/moved.json", policy=LOOPBACK)

    assert server.requests == [("/moved.json", None)]
    server.redirects = {"/moved.json": "/models3.json"}
    assert fetch_catalogue(server.base_url + "/moved.json", policy=LOOPBACK) == []
    assert url.endswith("/models3.json")


def test_a_catalogue_larger_than_any_real_one_is_refused(server: FileServer) -> None:
    url = server.add("/models3.json", json.dumps(["x" * 1024] * 17_000).encode())

    with pytest.raises(CatalogueError, match="larger than 16,777,216 bytes"):
        fetch_catalogue(url, policy=LOOPBACK)
