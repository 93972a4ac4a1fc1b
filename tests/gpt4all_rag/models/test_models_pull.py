"""Pulling a model from a real HTTP server on 127.0.0.1: progress, resume, checksums, refusals."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from gpt4all_rag.models.catalogue import CatalogueEntry, parse_catalogue
from gpt4all_rag.models.discovery import describe_model
from gpt4all_rag.models.errors import (
    ChecksumMismatch,
    ModelDownloadError,
    RefusedSource,
    UnverifiedModel,
)
from gpt4all_rag.models.network import NetworkPolicy
from gpt4all_rag.models.pull import part_path, pull_model
from tests.helpers.model_files import (
    LOOPBACK,
    FileServer,
    catalogue_item,
    gguf_bytes,
    md5_of,
)

# A GGUF header followed by 3 MB of "weights": several 1 MB chunks, so progress and
# resuming happen mid-file.
MODEL = gguf_bytes({"general.architecture": "llama", "tokenizer.chat_template": "{{ x }}"}) + (
    bytes(range(256)) * 12_288
)
FILENAME = "tiny-chat-q4_0.gguf"


def entry_for(server: FileServer, data: bytes = MODEL, **extra: object) -> CatalogueEntry:
    url = server.add(f"/gguf/{FILENAME}", data)
    (entry,) = parse_catalogue(json.dumps([catalogue_item(FILENAME, data, url, **extra)]))
    return entry


def test_a_pull_downloads_checks_and_installs_with_progress(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    calls: list[tuple[int, int]] = []

    result = pull_model(
        entry, tmp_path / "models", progress=lambda d, t: calls.append((d, t)), policy=LOOPBACK
    )

    target = tmp_path / "models" / FILENAME
    assert target.read_bytes() == MODEL
    assert (result.path, result.size, result.downloaded, result.resumed_from) == (
        target,
        len(MODEL),
        len(MODEL),
        0,
    )
    assert (result.checksum, result.already_present) == ("md5", False)
    assert calls[0] == (0, len(MODEL)) and calls[-1] == (len(MODEL), len(MODEL))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) >= 4  # a call per chunk, not one at the end
    assert not part_path(target).exists()
    assert describe_model(target, "models folder").chat_format_label == "template in the GGUF"


def test_a_partial_download_is_resumed_with_a_range_request(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    models = tmp_path / "models"
    models.mkdir()
    part_path(models / FILENAME).write_bytes(MODEL[:1_000_000])

    result = pull_model(entry, models, policy=LOOPBACK)

    assert (models / FILENAME).read_bytes() == MODEL
    assert server.requests == [(f"/gguf/{FILENAME}", "bytes=1000000-")]
    assert (result.resumed_from, result.downloaded) == (1_000_000, len(MODEL) - 1_000_000)


def test_a_dropped_connection_is_resumed_where_it_stopped(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    server.drop_after, server.drops_left = 1_500_000, 2  # cut twice, then a whole answer

    result = pull_model(entry, tmp_path / "models", attempts=3, policy=LOOPBACK)

    assert (tmp_path / "models" / FILENAME).read_bytes() == MODEL
    assert [r for _, r in server.requests] == [None, "bytes=1500000-", "bytes=3000000-"]
    assert result.downloaded == len(MODEL)


def test_a_download_that_keeps_failing_keeps_its_part_for_the_next_pull(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    server.drop_after, server.drops_left = 500_000, 2
    models = tmp_path / "models"

    with pytest.raises(ModelDownloadError, match=r"interrupted 2 times.*run the same pull again"):
        pull_model(entry, models, attempts=2, policy=LOOPBACK)

    assert part_path(models / FILENAME).read_bytes() == MODEL[:1_000_000]
    assert not (models / FILENAME).exists()
    pull_model(entry, models, policy=LOOPBACK)  # the next pull finishes it
    assert (models / FILENAME).read_bytes() == MODEL
    assert server.requests[-1][1] == "bytes=1000000-"


def test_a_checksum_mismatch_is_refused_and_nothing_is_kept(
    server: FileServer, tmp_path: Path
) -> None:
    corrupt = MODEL[:-1] + b"\x00"
    entry = entry_for(server, corrupt, md5sum=md5_of(MODEL))  # the catalogue's is the good one
    models = tmp_path / "models"

    with pytest.raises(ChecksumMismatch) as caught:
        pull_model(entry, models, policy=LOOPBACK)

    assert str(caught.value) == (
        f"{FILENAME}: md5 checksum mismatch (expected {md5_of(MODEL)}, got {md5_of(corrupt)}); "
        "the download was deleted, nothing was installed"
    )
    assert list(models.iterdir()) == []


def test_a_sha256_checksum_is_checked_when_the_catalogue_gives_one(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server, md5sum="", sha256sum="ab" * 32)

    with pytest.raises(ChecksumMismatch, match="sha256 checksum mismatch"):
        pull_model(entry, tmp_path / "models", policy=LOOPBACK)


def test_a_server_that_ignores_the_range_starts_the_file_over(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    server.ignore_range = True
    models = tmp_path / "models"
    models.mkdir()
    part_path(models / FILENAME).write_bytes(b"x" * 700_000)  # not even this model's bytes

    result = pull_model(entry, models, policy=LOOPBACK)

    assert (models / FILENAME).read_bytes() == MODEL
    assert result.checksum == "md5"


def test_a_part_longer_than_the_model_is_discarded(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    models = tmp_path / "models"
    models.mkdir()
    part_path(models / FILENAME).write_bytes(MODEL + b"extra")

    pull_model(entry, models, policy=LOOPBACK)

    assert (models / FILENAME).read_bytes() == MODEL
    assert server.requests == [(f"/gguf/{FILENAME}", None)]


def test_an_installed_model_is_not_downloaded_again(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    pull_model(entry, tmp_path, policy=LOOPBACK)

    again = pull_model(entry, tmp_path, policy=LOOPBACK)

    assert (again.already_present, again.downloaded) == (True, 0)
    assert len(server.requests) == 1


def test_a_different_file_of_that_name_is_never_replaced(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    (tmp_path / FILENAME).write_bytes(b"the user's own file")

    with pytest.raises(ModelDownloadError, match="exists but is not the catalogue's"):
        pull_model(entry, tmp_path, policy=LOOPBACK)

    assert (tmp_path / FILENAME).read_bytes() == b"the user's own file"
    assert server.requests == []


def test_a_server_error_is_reported_with_its_status(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    server.files.clear()

    with pytest.raises(ModelDownloadError, match=r"the server answered 404 Not Found for http://"):
        pull_model(entry, tmp_path, policy=LOOPBACK)


def test_a_server_that_cannot_be_reached_is_an_error(tmp_path: Path) -> None:
    (entry,) = parse_catalogue(
        json.dumps([catalogue_item(FILENAME, MODEL, "http://127.0.0.1:9/none.gguf")])
    )

    with pytest.raises(ModelDownloadError, match="interrupted 1 times"):
        pull_model(entry, tmp_path, attempts=1, timeout_s=2, policy=LOOPBACK)


def test_an_entry_without_a_checksum_is_refused_unless_the_person_allows_it(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server, md5sum="")
    models = tmp_path / "models"

    with pytest.raises(UnverifiedModel) as caught:
        pull_model(entry, models, policy=LOOPBACK)

    assert str(caught.value) == (
        "tiny chat q4_0: the catalogue gives no SHA-256 or MD5 checksum for it, so its "
        "download could not be verified; nothing was downloaded"
    )
    assert (server.requests, models.exists()) == ([], False)
    result = pull_model(entry, models, allow_unverified=True, policy=LOOPBACK)
    assert ((models / FILENAME).read_bytes(), result.checksum) == (MODEL, None)


def test_the_default_policy_refuses_the_loopback_server(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)

    with pytest.raises(RefusedSource) as caught:
        pull_model(entry, tmp_path / "models")

    assert str(caught.value) == (
        f"refused {entry.url}: 127.0.0.1 is 127.0.0.1, a loopback address; models come only "
        "from public addresses"
    )
    assert server.requests == []


def test_redirects_are_followed_by_hand_with_the_range(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    server.redirects = {"/start": "/middle", "/middle": f"{server.base_url}/gguf/{FILENAME}"}
    moved = CatalogueEntry(**{**entry.__dict__, "url": server.base_url + "/start"})
    models = tmp_path / "models"
    models.mkdir()
    part_path(models / FILENAME).write_bytes(MODEL[:1_000_000])

    pull_model(moved, models, policy=LOOPBACK)

    assert (models / FILENAME).read_bytes() == MODEL
    assert server.requests == [
        ("/start", "bytes=1000000-"),
        ("/middle", "bytes=1000000-"),
        (f"/gguf/{FILENAME}", "bytes=1000000-"),
    ]


# What a redirect from an allowed server may not lead to, and why.
PUBLIC = "93.184.216.34"
REFUSED_HOPS = [
    ("http://10.0.0.7/x.gguf", "10.0.0.7 is 10.0.0.7, a private address"),
    ("https://169.254.169.254/latest/meta-data/", "a link-local address"),
    ("https://[::1]:8443/x.gguf", "::1 is ::1, a loopback address"),
    ("https://intranet.example/x.gguf", "intranet.example is 192.168.1.20, a private address"),
    ("http://cdn.example/x.gguf", "plain http can be read and changed on the way"),
    ("ftp://files.example/x.gguf", "only https URLs are used"),
]


def fake_dns(host: str, port: int) -> list[str]:
    """Two names of this test's own, and the IP literals as the system reads them."""
    names = {"intranet.example": ["192.168.1.20"], "cdn.example": [PUBLIC]}
    return names.get(host) or [host]


@pytest.mark.parametrize(("location", "reason"), REFUSED_HOPS)
def test_a_redirect_to_a_private_address_or_to_http_is_refused(
    server: FileServer, tmp_path: Path, location: str, reason: str
) -> None:
    entry = entry_for(server)
    server.redirects = {f"/gguf/{FILENAME}": location}
    policy = NetworkPolicy(trusted_networks=LOOPBACK.trusted_networks, resolve=fake_dns)

    with pytest.raises(RefusedSource, match=re.escape(reason)) as caught:
        pull_model(entry, tmp_path, policy=policy)

    assert caught.value.url == location
    assert server.requests == [(f"/gguf/{FILENAME}", None)]
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_loop_stops_after_ten_hops(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    server.redirects = {f"/gguf/{FILENAME}": f"/gguf/{FILENAME}"}

    with pytest.raises(RefusedSource, match="more than 10 redirects"):
        pull_model(entry, tmp_path, policy=LOOPBACK)

    assert len(server.requests) == 11


def test_a_name_that_resolves_elsewhere_when_connecting_is_refused(
    server: FileServer, tmp_path: Path
) -> None:
    """DNS rebinding: the check saw a public address, the connection reached 127.0.0.1."""
    port = server.base_url.rsplit(":", 1)[1]
    entry = entry_for(server)
    rebound = CatalogueEntry(
        **{**entry.__dict__, "url": f"http://localhost:{port}/gguf/{FILENAME}"}
    )
    trusting_the_public_one = NetworkPolicy(
        trusted_networks=(ipaddress.ip_network(f"{PUBLIC}/32"),),
        resolve=lambda host, port: [PUBLIC],
    )

    with pytest.raises(RefusedSource, match=r"the connection reached 127\.0\.0\.1, a loopback"):
        pull_model(rebound, tmp_path, policy=trusting_the_public_one)

    assert not (tmp_path / FILENAME).exists()
    assert not part_path(tmp_path / FILENAME).exists()


@pytest.mark.parametrize("filename", ["../outside.gguf", "model.gguf\n", ".hidden.gguf"])
def test_an_entry_made_by_hand_cannot_name_a_file_outside_the_folder(
    server: FileServer, tmp_path: Path, filename: str
) -> None:
    entry = CatalogueEntry(**{**entry_for(server).__dict__, "filename": filename})

    with pytest.raises(ModelDownloadError, match="is not a plain"):
        pull_model(entry, tmp_path / "models", policy=LOOPBACK)

    assert (server.requests, list(tmp_path.iterdir())) == ([], [])
