"""Pulling a model from a real HTTP server on 127.0.0.1: progress, resume, checksums, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpt4all_rag.models import (
    CatalogueEntry,
    ChecksumMismatch,
    ModelDownloadError,
    describe_model,
    parse_catalogue,
    part_path,
    pull_model,
)
from tests.gpt4all_rag.models.helpers import (
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

    result = pull_model(entry, tmp_path / "models", progress=lambda d, t: calls.append((d, t)))

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

    result = pull_model(entry, models)

    assert (models / FILENAME).read_bytes() == MODEL
    assert server.requests == [(f"/gguf/{FILENAME}", "bytes=1000000-")]
    assert (result.resumed_from, result.downloaded) == (1_000_000, len(MODEL) - 1_000_000)


def test_a_dropped_connection_is_resumed_where_it_stopped(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    server.drop_after, server.drops_left = 1_500_000, 2  # cut twice, then a whole answer

    result = pull_model(entry, tmp_path / "models", attempts=3)

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
        pull_model(entry, models, attempts=2)

    assert part_path(models / FILENAME).read_bytes() == MODEL[:1_000_000]
    assert not (models / FILENAME).exists()
    pull_model(entry, models)  # the next pull finishes it
    assert (models / FILENAME).read_bytes() == MODEL
    assert server.requests[-1][1] == "bytes=1000000-"


def test_a_checksum_mismatch_is_refused_and_nothing_is_kept(
    server: FileServer, tmp_path: Path
) -> None:
    corrupt = MODEL[:-1] + b"\x00"
    entry = entry_for(server, corrupt, md5sum=md5_of(MODEL))  # the catalogue's is the good one
    models = tmp_path / "models"

    with pytest.raises(ChecksumMismatch) as caught:
        pull_model(entry, models)

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
        pull_model(entry, tmp_path / "models")


def test_a_server_that_ignores_the_range_starts_the_file_over(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    server.ignore_range = True
    models = tmp_path / "models"
    models.mkdir()
    part_path(models / FILENAME).write_bytes(b"x" * 700_000)  # not even this model's bytes

    result = pull_model(entry, models)

    assert (models / FILENAME).read_bytes() == MODEL
    assert result.checksum == "md5"


def test_a_part_longer_than_the_model_is_discarded(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    models = tmp_path / "models"
    models.mkdir()
    part_path(models / FILENAME).write_bytes(MODEL + b"extra")

    pull_model(entry, models)

    assert (models / FILENAME).read_bytes() == MODEL
    assert server.requests == [(f"/gguf/{FILENAME}", None)]


def test_an_installed_model_is_not_downloaded_again(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    pull_model(entry, tmp_path)

    again = pull_model(entry, tmp_path)

    assert (again.already_present, again.downloaded) == (True, 0)
    assert len(server.requests) == 1


def test_a_different_file_of_that_name_is_never_replaced(
    server: FileServer, tmp_path: Path
) -> None:
    entry = entry_for(server)
    (tmp_path / FILENAME).write_bytes(b"the user's own file")

    with pytest.raises(ModelDownloadError, match="exists but is not the catalogue's"):
        pull_model(entry, tmp_path)

    assert (tmp_path / FILENAME).read_bytes() == b"the user's own file"
    assert server.requests == []


def test_a_server_error_is_reported_with_its_status(server: FileServer, tmp_path: Path) -> None:
    entry = entry_for(server)
    server.files.clear()

    with pytest.raises(ModelDownloadError, match=r"the server answered 404 Not Found for http://"):
        pull_model(entry, tmp_path)


def test_a_server_that_cannot_be_reached_is_an_error(tmp_path: Path) -> None:
    (entry,) = parse_catalogue(
        json.dumps([catalogue_item(FILENAME, MODEL, "http://127.0.0.1:9/none.gguf")])
    )

    with pytest.raises(ModelDownloadError, match="interrupted 1 times"):
        pull_model(entry, tmp_path, attempts=1, timeout_s=2)
