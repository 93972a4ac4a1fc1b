"""The manifest's typed metadata, and files readable by their owner only."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta, timezone

from ingest.manifest import IndexFingerprint, Manifest


def test_a_new_manifest_has_no_metadata(tmp_path):
    m = Manifest(tmp_path / "manifest.sqlite3")
    assert (m.fingerprint, m.last_sync, m.documents_folder) == (None, None, None)
    assert m.keywords_current is False


def test_typed_properties_round_trip_through_the_database(tmp_path):
    path = tmp_path / "manifest.sqlite3"
    m = Manifest(path)
    m.fingerprint = IndexFingerprint("minilm", "200/32/v1")
    m.last_sync = datetime(2026, 1, 2, 4, 5, 6, 789, tzinfo=timezone(timedelta(hours=2)))
    m.keywords_current = True
    m.documents_folder = tmp_path / "docs" / ".." / "docs"
    m.close()

    again = Manifest(path)
    assert again.fingerprint == IndexFingerprint("minilm", "200/32/v1")
    assert again.last_sync == datetime(2026, 1, 2, 2, 5, 6, tzinfo=UTC)
    assert again.keywords_current is True
    assert again.documents_folder == (tmp_path / "docs").resolve()
    assert again.get_meta("last_sync") == "2026-01-02T02:05:06+00:00"  # the stored form


def test_an_older_index_with_only_the_model_recorded_has_no_fingerprint(tmp_path):
    m = Manifest(tmp_path / "manifest.sqlite3")
    m.set_meta("embedding_model", "minilm")
    assert m.embedding_model == "minilm" and m.fingerprint is None


def test_fingerprint_accepts_the_dict_form():
    assert IndexFingerprint.of({"embedding_model": "m", "chunking": "c"}) == IndexFingerprint(
        "m", "c"
    )


def test_manifest_and_its_folder_are_owner_only(tmp_path):
    m = Manifest(tmp_path / "index" / "manifest.sqlite3")
    m.set_meta("x", "y")  # creates the WAL file
    assert stat.S_IMODE((tmp_path / "index").stat().st_mode) == 0o700
    for name in ("manifest.sqlite3", "manifest.sqlite3-wal"):
        assert stat.S_IMODE((tmp_path / "index" / name).stat().st_mode) == 0o600, name
