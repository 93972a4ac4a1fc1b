"""plan_sync is pure: a folder listing and the manifest's records in, the decisions out."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.manifest import FailureRecord, FileRecord
from ingest.plan import Candidate, plan_sync
from ingest.scan import FileStat


def stat(path: str, size: int = 10, mtime: int = 1) -> FileStat:
    return FileStat(path, Path("/docs") / path, size, mtime)


def record(path: str, content: str, size: int = 10, mtime: int = 1) -> FileRecord:
    return FileRecord(path, size, mtime, content, pages=1, chunks=2)


# The content hash of each file in the folder: the "hash" is just looked up.
CONTENT = {"a.md": "A", "b.md": "B", "c.md": "C", "moved/a.md": "A", "copy.md": "B"}


def hashes(s: FileStat) -> str:
    return CONTENT[s.path]


def summary(plan) -> dict:
    """The plan in plain terms: what each candidate is, what is deleted, what is unchanged."""
    kinds = {}
    for c in plan.candidates:
        if c.moves:
            kinds[c.stat.path] = f"moved from {c.source.path}"
        elif c.source is not None:
            kinds[c.stat.path] = ("replaces, " if c.replaces else "") + f"copy of {c.source.path}"
        else:
            kinds[c.stat.path] = "changed" if c.replaces else "new"
    return {
        "candidates": kinds,
        "deleted": sorted(plan.vanished),
        "unchanged": plan.unchanged,
        "touched": [s.path for s in plan.touched],
    }


CASES = {
    "new file": (
        [stat("a.md"), stat("c.md")],
        [record("a.md", "A")],
        {"candidates": {"c.md": "new"}, "deleted": [], "unchanged": 1, "touched": []},
    ),
    "changed content": (
        [stat("a.md", size=11)],
        [record("a.md", "old")],
        {"candidates": {"a.md": "changed"}, "deleted": [], "unchanged": 0, "touched": []},
    ),
    "touched, same content": (
        [stat("a.md", mtime=2)],
        [record("a.md", "A")],
        {"candidates": {}, "deleted": [], "unchanged": 1, "touched": ["a.md"]},
    ),
    "moved": (
        [stat("moved/a.md")],
        [record("a.md", "A")],
        {
            "candidates": {"moved/a.md": "moved from a.md"},
            "deleted": [],
            "unchanged": 0,
            "touched": [],
        },
    ),
    "copied": (
        [stat("b.md"), stat("copy.md")],
        [record("b.md", "B")],
        {"candidates": {"copy.md": "copy of b.md"}, "deleted": [], "unchanged": 1, "touched": []},
    ),
    "deleted": (
        [stat("a.md")],
        [record("a.md", "A"), record("b.md", "B")],
        {"candidates": {}, "deleted": ["b.md"], "unchanged": 1, "touched": []},
    ),
    "moved once, then copied": (
        [stat("moved/a.md"), stat("a2.md")],
        [record("a.md", "A")],
        {
            "candidates": {"moved/a.md": "moved from a.md", "a2.md": "copy of a.md"},
            "deleted": [],
            "unchanged": 0,
            "touched": [],
        },
    ),
}
CONTENT["a2.md"] = "A"


@pytest.mark.parametrize("files, records, expected", CASES.values(), ids=CASES.keys())
def test_plan_sync_decides_each_file(files, records, expected):
    plan = plan_sync(files, {r.path: r for r in records}, hashes)
    assert summary(plan) == expected
    assert plan.seen == {f.path for f in files}


def test_rechunk_makes_every_file_a_candidate_and_reuses_nothing():
    files = [stat("a.md"), stat("moved/a.md")]
    records = {"a.md": record("a.md", "A"), "gone.md": record("gone.md", "A")}
    plan = plan_sync(files, records, hashes, rechunk=True)

    assert plan.candidates == [
        Candidate(files[0], "A", replaces=True),
        Candidate(files[1], "A", replaces=False),
    ]
    assert sorted(plan.vanished) == ["gone.md"]
    assert plan.unchanged == 0 and plan.rechunk


def test_unchanged_failure_is_not_retried_and_a_changed_one_is():
    files = [stat("a.md"), stat("b.md", size=99)]
    failures = {
        "a.md": FailureRecord("a.md", 10, 1, "not a valid MD"),
        "b.md": FailureRecord("b.md", 10, 1, "empty file"),
    }
    plan = plan_sync(files, {}, hashes, failures)

    assert plan.known_failures == [("a.md", "not a valid MD")]
    assert [c.stat.path for c in plan.candidates] == ["b.md"]


def test_unhashable_file_is_reported_unreadable_without_stopping_the_plan():
    def hash_or_fail(s: FileStat) -> str:
        if s.path == "a.md":
            raise PermissionError(13, "Permission denied")
        return CONTENT[s.path]

    plan = plan_sync([stat("a.md"), stat("c.md")], {}, hash_or_fail)

    assert [(s.path, reason) for s, reason in plan.unreadable] == [("a.md", "permission denied")]
    assert [c.stat.path for c in plan.candidates] == ["c.md"]


def test_size_and_mtime_match_means_the_file_is_not_even_hashed():
    def never(s: FileStat) -> str:
        raise AssertionError(f"hashed {s.path}")

    plan = plan_sync([stat("a.md")], {"a.md": record("a.md", "A")}, never)
    assert plan.unchanged == 1 and not plan.changes_chunks
