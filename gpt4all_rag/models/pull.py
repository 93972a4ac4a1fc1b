"""Download a catalogue model into our models folder: resumable, checked, never half-installed.

The bytes go to ``<file>.part`` beside the target; an interrupted download (a
dropped connection, Ctrl-C) leaves that file, and the next pull asks the server
for the rest with an HTTP ``Range`` request. Only a file whose size and checksum
match the catalogue is renamed to its final name, so the model list never shows
a partial or corrupt model. An entry with no checksum is refused unless the caller
passes ``allow_unverified`` (the person confirmed), and the URL and each redirect
must pass the :class:`~gpt4all_rag.models.network.NetworkPolicy` (https, public
addresses). This is the only code in the project that downloads, and it runs only
when the user asks for a model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gpt4all_rag.models.catalogue import CatalogueEntry, is_safe_filename
from gpt4all_rag.models.errors import ChecksumMismatch, ModelDownloadError, UnverifiedModel
from gpt4all_rag.models.network import NetworkPolicy, open_checked

if TYPE_CHECKING:
    import httpx

__all__ = ["PART_SUFFIX", "PullProgress", "PullResult", "file_digest", "part_path", "pull_model"]

PART_SUFFIX = ".part"
PullProgress = Callable[[int, int], None]
"""Called as bytes arrive: (bytes in the file so far, total bytes or 0 if unknown)."""

_CHUNK_BYTES = 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class PullResult:
    """What a pull did.

    Attributes:
        path: The installed model file.
        size: Its size in bytes.
        downloaded: Bytes fetched by this call (0 if the file was already there).
        resumed_from: Bytes already in the ``.part`` file when this call started.
        seconds: How long the call took, checksum included.
        checksum: The algorithm the file was checked with ("md5", "sha256"), or None.
        already_present: The file was installed before; nothing was downloaded.
    """

    path: Path
    size: int
    downloaded: int
    resumed_from: int
    seconds: float
    checksum: str | None
    already_present: bool = False

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (``models pull --json``)."""
        return {
            "path": str(self.path),
            "size": self.size,
            "downloaded": self.downloaded,
            "resumed_from": self.resumed_from,
            "seconds": round(self.seconds, 3),
            "checksum": self.checksum,
            "already_present": self.already_present,
        }


class _Interrupted(Exception):
    """The connection ended before the file did; the next attempt resumes."""


def part_path(target: Path) -> Path:
    """Where the download of ``target`` is written until it is complete and checked."""
    return target.with_name(target.name + PART_SUFFIX)


def pull_model(
    entry: CatalogueEntry,
    models_dir: Path,
    progress: PullProgress | None = None,
    attempts: int = 3,
    timeout_s: float = 30.0,
    *,
    allow_unverified: bool = False,
    policy: NetworkPolicy | None = None,
) -> PullResult:
    """Download ``entry`` into ``models_dir``, resuming a previous partial download.

    A dropped connection is retried ``attempts`` times in all, each time from where
    it stopped.

    Args:
        entry: The catalogue's model.
        models_dir: Where it is stored.
        progress: Called as bytes arrive.
        attempts: Tries in all when the connection drops.
        timeout_s: Connect and read timeout.
        allow_unverified: Install an entry that has no checksum (the person confirmed).
        policy: Where it may connect, redirects included (default: https to public
            addresses only).

    Raises:
        UnverifiedModel: The entry has no checksum and ``allow_unverified`` is False;
            nothing was downloaded.
        RefusedSource: The URL or a redirect is not https, or not a public address.
        ModelDownloadError: The server refused, the connection kept failing (the
            partial file is kept for the next pull), the disk is too small, a
            different file of that name is already installed, or the entry's file
            name is not one plain ``*.gguf`` name.
        ChecksumMismatch: The file does not match the catalogue's checksum; it is
            deleted.
    """
    import httpx  # httpx: on use only

    if not is_safe_filename(entry.filename):  # an entry made by hand, not by parse_catalogue
        raise ModelDownloadError(f"{entry.filename!r} is not a plain *.gguf file name")
    if entry.checksum is None and not allow_unverified:
        raise UnverifiedModel(entry.name)
    started = time.perf_counter()
    target = models_dir / entry.filename
    if target.exists():
        return _already_present(entry, target, started)
    models_dir.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    resumed_from = _size(part)
    _check_free_space(entry, models_dir, resumed_from)
    timeout = httpx.Timeout(timeout_s, read=timeout_s)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:  # by hand, checked
        _download_with_retries(client, entry, part, progress, attempts, policy or NetworkPolicy())
    downloaded = _size(part) - resumed_from
    checked = _verify(entry, part)
    os.replace(part, target)
    return PullResult(
        target,
        _size(target),
        max(downloaded, 0),
        resumed_from,
        time.perf_counter() - started,
        checked,
    )


def _download_with_retries(
    client: httpx.Client,
    entry: CatalogueEntry,
    part: Path,
    progress: PullProgress | None,
    attempts: int,
    policy: NetworkPolicy,
) -> None:
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            _download(client, entry, part, progress, policy)
            return
        except _Interrupted as exc:
            if attempt == attempts:
                raise ModelDownloadError(
                    f"{entry.filename}: the download was interrupted {attempts} times ({exc}); "
                    f"{_size(part):,} bytes are kept in {part.name}: run the same pull again "
                    "to resume"
                ) from exc


def _download(
    client: httpx.Client,
    entry: CatalogueEntry,
    part: Path,
    progress: PullProgress | None,
    policy: NetworkPolicy,
) -> None:
    """One request for the rest of the file, appended to ``part``."""
    import httpx  # httpx: on use only

    offset = _size(part)
    if entry.filesize and offset > entry.filesize:
        part.unlink()  # not a prefix of this model: start again
        offset = 0
    if entry.filesize and offset == entry.filesize:
        return  # complete from an earlier run; only the check is left
    headers = {"Accept-Encoding": "identity"}  # byte ranges of the file itself, not of a gzip
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        with open_checked(client, entry.url, headers, policy) as response:
            offset = _start_offset(response, offset, part, entry)
            _write_body(response, part, offset, entry, progress)
    except httpx.TransportError as exc:  # refused, reset, timed out, cut short
        raise _Interrupted(str(exc) or type(exc).__name__) from exc
    if entry.filesize and _size(part) < entry.filesize:
        raise _Interrupted(f"the server sent {_size(part):,} of {entry.filesize:,} bytes")


def _start_offset(response: httpx.Response, offset: int, part: Path, entry: CatalogueEntry) -> int:
    """Where the response's body starts in the file, from its status and ``Content-Range``."""
    if response.status_code == 416 and offset:  # the server says the range is past its file
        part.unlink()
        raise _Interrupted("the partial file is longer than the server's; starting again")
    if response.status_code >= 400:
        raise ModelDownloadError(
            f"{entry.filename}: the server answered {response.status_code} "
            f"{response.reason_phrase} for {entry.url}"
        )
    if response.status_code != 206:
        return 0  # a full body: the server ignored (or was not sent) the range
    match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if not match or int(match.group(1)) != offset:
        raise ModelDownloadError(
            f"{entry.filename}: the server resumed at the wrong place "
            f"({response.headers.get('content-range')!r} for byte {offset})"
        )
    return offset


def _write_body(
    response: httpx.Response,
    part: Path,
    offset: int,
    entry: CatalogueEntry,
    progress: PullProgress | None,
) -> None:
    length = int(response.headers.get("content-length", 0) or 0)
    total = offset + length if length else entry.filesize
    done = offset
    with open(part, "r+b" if offset else "wb") as out:
        out.seek(offset)
        out.truncate()
        if progress:
            progress(done, total)
        for chunk in response.iter_bytes():  # as received: a cut loses nothing already sent
            out.write(chunk)
            done += len(chunk)
            if entry.filesize and done > entry.filesize:
                raise ModelDownloadError(
                    f"{entry.filename}: the server sent more than the catalogue's "
                    f"{entry.filesize:,} bytes"
                )
            if progress:
                progress(done, total)


def _verify(entry: CatalogueEntry, path: Path) -> str | None:
    """Check size and checksum; a file that fails is deleted. Returns the algorithm used."""
    size = _size(path)
    if entry.filesize and size != entry.filesize:
        path.unlink()
        raise ModelDownloadError(
            f"{entry.filename}: got {size:,} bytes, the catalogue says {entry.filesize:,}; "
            "the download was deleted"
        )
    if entry.checksum is None:
        return None
    algorithm, expected = entry.checksum
    actual = file_digest(path, algorithm)
    if actual != expected:
        path.unlink()
        raise ChecksumMismatch(entry.filename, algorithm, expected, actual)
    return algorithm


def _already_present(entry: CatalogueEntry, target: Path, started: float) -> PullResult:
    """An installed file of that name: fine if it is this model, refused (never replaced) if not."""
    size = _size(target)
    algorithm = entry.checksum[0] if entry.checksum else None
    same_size = not entry.filesize or size == entry.filesize
    if not same_size or (
        entry.checksum and file_digest(target, entry.checksum[0]) != entry.checksum[1]
    ):
        raise ModelDownloadError(
            f"{target} exists but is not the catalogue's {entry.name}; move or delete it first"
        )
    return PullResult(target, size, 0, 0, time.perf_counter() - started, algorithm, True)


def _check_free_space(entry: CatalogueEntry, folder: Path, have: int) -> None:
    needed = entry.filesize - have
    free = shutil.disk_usage(folder).free
    if entry.filesize and needed > free:
        raise ModelDownloadError(
            f"{entry.filename} needs {needed / 1e9:.1f} GB more; "
            f"{folder} has {free / 1e9:.1f} GB free"
        )


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest of a file, read a megabyte at a time."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
