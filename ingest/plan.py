"""Deciding what a sync has to do, before any file is parsed.

A pure function of the folder listing, the manifest's records and a way to hash a file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ingest.manifest import FailureRecord, FileRecord
from ingest.scan import FileStat

__all__ = ["Candidate", "SyncPlan", "plan_sync"]

HashFile = Callable[[FileStat], str]
"""Returns a file's content hash; raises ``OSError`` when the file cannot be read."""


@dataclass(frozen=True)
class Candidate:
    """A file whose content is not indexed at its path: it must be written.

    Attributes:
        stat: the file as listed.
        content_hash: its content hash.
        replaces: whether its path was indexed before (reported as updated, else added).
        source: an indexed file with the same content, whose stored vectors it can reuse.
        moves: whether ``source`` is gone from the folder: the file was moved or renamed
            (``source`` is then not deleted but taken over).
    """

    stat: FileStat
    content_hash: str
    replaces: bool = False
    source: FileRecord | None = None
    moves: bool = False


@dataclass
class SyncPlan:
    """What a sync has to do.

    Attributes:
        candidates: files to write, in folder order.
        unchanged: how many files need nothing.
        touched: files with new stats and the content already indexed (manifest only).
        known_failures: files that failed before and did not change since, with the reason.
        unreadable: files that could not be hashed, with the reason.
        vanished: indexed files no longer in the folder, and not moved: to delete.
        seen: every path in the folder.
        rechunk: chunking settings changed, so no stored vector is reused.
    """

    candidates: list[Candidate] = field(default_factory=list)
    unchanged: int = 0
    touched: list[FileStat] = field(default_factory=list)
    known_failures: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[tuple[FileStat, str]] = field(default_factory=list)
    vanished: dict[str, FileRecord] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    rechunk: bool = False

    @property
    def changes_chunks(self) -> bool:
        """Whether carrying out the plan may change the stored chunks."""
        return bool(self.candidates or self.vanished)


def plan_sync(
    files: Sequence[FileStat],
    records: Mapping[str, FileRecord],
    hash_file: HashFile,
    failures: Mapping[str, FailureRecord] | None = None,
    rechunk: bool = False,
) -> SyncPlan:
    """Compare the folder with the manifest and decide, file by file, what to do.

    Args:
        files: the folder listing (``scan_folder``).
        records: the indexed files by path (``Manifest.files``).
        hash_file: content hash of a listed file; only called when size or mtime differ.
        failures: files that failed before, by path; unchanged ones are not retried.
        rechunk: chunking changed: every file is a candidate and nothing is reused.
    """
    failures = failures or {}
    plan = SyncPlan(rechunk=rechunk)
    fresh: list[tuple[FileStat, str]] = []
    for stat in files:
        plan.seen.add(stat.path)
        content_hash = _classify(
            stat, records.get(stat.path), failures.get(stat.path), plan, hash_file
        )
        if content_hash is not None:
            fresh.append((stat, content_hash))
    plan.vanished = {p: r for p, r in records.items() if p not in plan.seen}
    plan.candidates = _with_sources(fresh, records, plan)
    return plan


def _classify(
    stat: FileStat,
    record: FileRecord | None,
    failure: FailureRecord | None,
    plan: SyncPlan,
    hash_file: HashFile,
) -> str | None:
    """Settle a file that needs no write; return the content hash of one that does."""
    if not plan.rechunk and record and (record.size, record.mtime_ns) == (stat.size, stat.mtime_ns):
        plan.unchanged += 1
        return None
    if failure and (failure.size, failure.mtime_ns) == (stat.size, stat.mtime_ns):
        plan.known_failures.append((stat.path, failure.reason))
        return None
    try:
        content_hash = hash_file(stat)
    except OSError as exc:
        plan.unreadable.append((stat, _os_reason(exc)))
        return None
    if not plan.rechunk and record and record.content_hash == content_hash:
        plan.touched.append(stat)
        plan.unchanged += 1
        return None
    return content_hash


def _with_sources(
    fresh: list[tuple[FileStat, str]], records: Mapping[str, FileRecord], plan: SyncPlan
) -> list[Candidate]:
    """Pair each file with stored content it can reuse; a vanished source counts as moved.

    A vanished file's content is preferred as the source, and only its first taker moves
    it: a second file with that content is a copy.
    """
    if plan.rechunk:
        return [Candidate(s, h, s.path in records) for s, h in fresh]
    by_hash = {r.content_hash: r for r in records.values()}
    by_hash.update({r.content_hash: r for r in plan.vanished.values()})
    candidates = []
    for stat, content_hash in fresh:
        source = by_hash.get(content_hash)
        replaces = stat.path in records
        moves = (
            source is not None and not replaces and plan.vanished.pop(source.path, None) is not None
        )
        candidates.append(Candidate(stat, content_hash, replaces, source, moves))
    return candidates


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read file: {exc.strerror or exc}"
