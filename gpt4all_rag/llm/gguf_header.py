"""Read a GGUF file's metadata (its key/value header) without loading the model.

The model list shows the chat format each file will get, which depends on the
``general.*`` names and on whether ``tokenizer.chat_template`` is present. Loading
a model to learn that would take seconds and gigabytes; the header is a few
megabytes at the start of the file, read here through a memory map so that the
tokenizer's long arrays are skipped without being copied.
"""

from __future__ import annotations

import mmap
import struct
from functools import lru_cache
from pathlib import Path

__all__ = ["GGUF_MAGIC", "GGUFHeaderError", "read_gguf_metadata"]

GGUF_MAGIC = b"GGUF"

# GGUF value types: their struct codes (fixed sizes) and the two variable-length ones.
_SCALARS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
    12: "<d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9
_U64 = struct.Struct("<Q")
# Bounds that a hostile or corrupt header cannot make us exceed.
_MAX_KEYS = 100_000
_MAX_STRING_BYTES = 64 * 1024 * 1024


class GGUFHeaderError(ValueError):
    """The file is not a GGUF file, or its header is truncated or corrupt."""


class _Reader:
    """A cursor over the mapped file; every read is bounds-checked."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data = data
        self.offset = 0

    def unpack(self, fmt: str) -> object:
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise GGUFHeaderError("truncated header")
        (value,) = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return value

    def count(self) -> int:
        return int(self.unpack("<Q"))  # type: ignore[call-overload]

    def string(self) -> str:
        length = self.count()
        if length > _MAX_STRING_BYTES or self.offset + length > len(self.data):
            raise GGUFHeaderError("string runs past the end of the file")
        raw = self.data[self.offset : self.offset + length]
        self.offset += length
        return bytes(raw).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        # The hot loop (a vocabulary holds 50k-250k strings): local names, one Struct.
        data, offset, end, read_length = self.data, self.offset, len(self.data), _U64.unpack_from
        for _ in range(count):
            if offset + 8 > end:
                raise GGUFHeaderError("array runs past the end of the file")
            offset += 8 + read_length(data, offset)[0]
        if offset > end:
            raise GGUFHeaderError("array runs past the end of the file")
        self.offset = offset

    def value(self, kind: int) -> str | None:
        """A scalar or string as text (as llama.cpp's metadata shows it); None for arrays."""
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            self.skip_array()
            return None
        if kind not in _SCALARS:
            raise GGUFHeaderError(f"unknown value type {kind}")
        value = self.unpack(_SCALARS[kind])
        return str(value).lower() if isinstance(value, bool) else str(value)

    def skip_array(self) -> None:
        kind = int(self.unpack("<I"))  # type: ignore[call-overload]
        count = self.count()
        if kind == _STRING:
            self.skip_strings(count)
        elif kind == _ARRAY:
            for _ in range(count):
                self.skip_array()
        elif kind in _SCALARS:
            self.offset += count * struct.calcsize(_SCALARS[kind])
            if self.offset > len(self.data):
                raise GGUFHeaderError("array runs past the end of the file")
        else:
            raise GGUFHeaderError(f"unknown array type {kind}")


def read_gguf_metadata(path: Path) -> dict[str, str]:
    """The scalar and string metadata of a GGUF file, keyed like ``llama_cpp.Llama.metadata``.

    Arrays (the tokenizer's vocabulary and merges) are skipped. Results are cached
    per path, size and modification time, so the app can ask on every rerun.

    Raises:
        GGUFHeaderError: The file is not GGUF (version 2 or 3) or its header is cut short.
        OSError: The file cannot be opened.
    """
    stat = path.stat()
    return dict(_cached_metadata(str(path), stat.st_size, stat.st_mtime_ns))


@lru_cache(maxsize=256)
def _cached_metadata(path: str, size: int, mtime_ns: int) -> tuple[tuple[str, str], ...]:
    if size < 24:
        raise GGUFHeaderError("too small to be a GGUF file")
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return tuple(_parse(_Reader(data)).items())


def _parse(reader: _Reader) -> dict[str, str]:
    if bytes(reader.data[:4]) != GGUF_MAGIC:
        raise GGUFHeaderError("not a GGUF file")
    reader.offset = 4
    version = int(reader.unpack("<I"))  # type: ignore[call-overload]
    if version not in (2, 3):
        raise GGUFHeaderError(f"GGUF version {version} is not supported")
    reader.count()  # tensors: not needed
    keys = reader.count()
    if keys > _MAX_KEYS:
        raise GGUFHeaderError(f"implausible number of metadata keys ({keys})")
    metadata: dict[str, str] = {}
    for _ in range(keys):
        key = reader.string()
        value = reader.value(int(reader.unpack("<I")))  # type: ignore[call-overload]
        if value is not None:
            metadata[key] = value
    return metadata
