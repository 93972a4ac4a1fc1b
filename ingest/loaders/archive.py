"""The decompression-bomb check for zip-based formats (docx, pptx, xlsx, epub).

Their parsers inflate every member into memory, so a 10 MB file can become 10 GB. The
zip's central directory says how big each member is before anything is inflated:
refuse the file when the total, or its ratio to the file's size, is out of bounds.

The declared sizes can lie. ``zipfile`` cuts a member's data at its declared size, but
only after inflating it: a whole-member read (what every parser does) inflates up to
2 GiB in one call and then throws the excess away. So each member is inflated here
first, in pieces of ``PIECE_BYTES``, and the file is refused if a member holds more
than it declares (or the whole file more than the limit); the parsers then only ever
read members that end where they say they do. Office and EPUB containers allow only
stored and deflated members, so a member compressed any other way is refused too.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingest.errors import DocumentLoadError
from ingest.loaders.base import LoadLimits, current_limits

__all__ = ["PIECE_BYTES", "MemberOverrun", "check_zip", "read_member"]

PIECE_BYTES = 1 << 20
"""Most bytes one step of ``read_member`` inflates (and reads from disk)."""

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_LOCAL_MAGIC = b"PK\x03\x04"
_RAW_DEFLATE = -15  # zlib's window bits for a deflate stream with no header


class MemberOverrun(Exception):
    """A member inflates past what the reader may return (its declared size or a limit)."""


def check_zip(path: Path, limits: LoadLimits | None = None) -> None:
    """Raise ``DocumentLoadError`` if ``path`` would unzip to too much, or too steeply.

    A file that is not a zip, or a member too damaged to inflate, is left for its parser
    to reject with its own reason: this check is about size, not validity.
    """
    limits = limits or current_limits()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    unzipped = sum(info.file_size for info in infos)
    _check_declared(path, unzipped, limits)
    _check_inflated(path, infos, limits)


def _check_declared(path: Path, unzipped: int, limits: LoadLimits) -> None:
    """Refuse by the sizes the central directory declares, before inflating anything."""
    if unzipped > limits.max_unzipped_bytes:
        raise DocumentLoadError(
            path,
            f"unzips to {unzipped / (1 << 20):,.0f} MB (limit "
            f"{limits.max_unzipped_bytes / (1 << 20):,.0f} MB): possible zip bomb",
        )
    ratio = unzipped / max(path.stat().st_size, 1)
    if unzipped > limits.ratio_floor_bytes and ratio > limits.max_zip_ratio:
        raise DocumentLoadError(
            path,
            f"compression ratio {ratio:,.0f}:1 (limit {limits.max_zip_ratio:,.0f}:1): "
            "possible zip bomb",
        )


def _check_inflated(path: Path, infos: list[zipfile.ZipInfo], limits: LoadLimits) -> None:
    """Inflate every member piece by piece; refuse one that holds more than it declares."""
    with path.open("rb") as handle:
        for info in infos:
            if info.compress_type == zipfile.ZIP_STORED or info.flag_bits & 0x1:
                continue  # stored: no bigger than the file; encrypted: unreadable anyway
            if info.compress_type != zipfile.ZIP_DEFLATED:
                raise DocumentLoadError(
                    path,
                    f"zip member {info.filename!r} uses compression method "
                    f"{info.compress_type}, which this format does not allow",
                )
            try:
                for _ in read_member(handle, info, info.file_size):
                    pass
            except MemberOverrun as exc:
                raise DocumentLoadError(
                    path,
                    f"zip member {info.filename!r} inflates past its declared size "
                    f"({info.file_size:,} bytes): possible zip bomb",
                ) from exc
            except (zlib.error, ValueError, OSError):
                continue  # damaged, not big: the parser says what is wrong


def read_member(handle: BinaryIO, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    """A deflated member's data, in pieces of at most ``PIECE_BYTES``, up to ``limit`` bytes.

    Memory stays at one piece whatever the member holds. Raises ``MemberOverrun`` (before
    returning the excess) when the data goes on past ``limit``, and ``ValueError`` for
    a member whose header or deflate stream is broken.
    """
    handle.seek(_data_offset(handle, info))
    left_in = info.compress_size
    inflater = zlib.decompressobj(_RAW_DEFLATE)
    produced = 0
    pending = b""
    while not inflater.eof:
        if not pending and left_in > 0:
            pending = handle.read(min(PIECE_BYTES, left_in))
            left_in -= len(pending)
            if not pending:
                raise ValueError("the member's data ends early")
        piece = inflater.decompress(pending, PIECE_BYTES)
        pending = inflater.unconsumed_tail
        if not (piece or pending or left_in > 0 or inflater.eof):
            raise ValueError("the member's deflate stream ends early")
        produced += len(piece)
        if produced > limit:
            raise MemberOverrun
        if piece:
            yield piece


def _data_offset(handle: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where a member's compressed data starts: after its local header, name and extra."""
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_MAGIC:
        raise ValueError("bad local file header")
    fields = _LOCAL_HEADER.unpack(header)
    return info.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
