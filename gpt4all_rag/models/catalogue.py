"""GPT4All's public model catalogue (``models3.json``), and how much memory this machine has.

The catalogue is a JSON list of objects with ``name``, ``filename``, ``url``,
``md5sum`` (or ``sha256sum``), ``filesize`` and ``ramrequired`` (both strings of
digits), plus ``parameters``, ``quant``, ``type``, ``description``,
``embeddingModel``, ``disableGUI`` and ``removedIn``. It is fetched only when the
user asks (``gpt4all-rag models catalogue`` or ``pull``, the app's opt-in button):
the rest of the project never touches the network.
"""

from __future__ import annotations

import ctypes
import difflib
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gpt4all_rag.models.errors import CatalogueError, UnknownModel
from gpt4all_rag.models.network import NetworkPolicy, open_checked

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_CATALOGUE_URL",
    "CatalogueEntry",
    "fetch_catalogue",
    "find_entry",
    "format_size",
    "is_safe_filename",
    "machine_ram_bytes",
    "parse_catalogue",
]

DEFAULT_CATALOGUE_URL = "https://gpt4all.io/models/models3.json"
# Where GPT4All downloads an entry that has no "url" (its download.cpp does the same).
_DEFAULT_DOWNLOAD_BASE = "https://gpt4all.io/models/gguf/"
_GB = 1024**3
_MAX_CATALOGUE_BYTES = 16 * 1024**2  # GPT4All's is about 50 kB
# A catalogue file name becomes a path in the models folder: one plain name, no folders,
# matched whole (fullmatch: "$" would let a trailing newline through).
_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,200}\.gguf")
# Windows opens a device, not a file, for these names whatever the extension.
_WINDOWS_DEVICES = re.compile(r"con|prn|aux|nul|com\d|lpt\d", re.IGNORECASE)
_DIGEST_LENGTHS = {"md5sum": 32, "sha256sum": 64}


@dataclass(frozen=True)
class CatalogueEntry:
    """One model of the catalogue.

    Attributes:
        name: Its display name ("Llama 3 8B Instruct"), what ``pull`` takes.
        filename: The GGUF file it is stored as.
        url: Where it is downloaded from.
        filesize: Its size in bytes (0 if the catalogue does not say).
        ram_gb: GB of memory GPT4All says it needs (0 if unknown).
        md5: Its MD5 checksum, hex, if given.
        sha256: Its SHA-256 checksum, hex, if given (newer entries give this instead).
        parameters, quant, family: As the catalogue says ("8 billion", "q4_0", "LLaMA3").
        embedding: An embedding model (it cannot answer questions).
        hidden: GPT4All hides it from its own list (``disableGUI``), as do we by default.
    """

    name: str
    filename: str
    url: str
    filesize: int
    ram_gb: int
    md5: str | None = None
    sha256: str | None = None
    parameters: str = ""
    quant: str = ""
    family: str = ""
    embedding: bool = False
    hidden: bool = False

    @property
    def checksum(self) -> tuple[str, str] | None:
        """``(algorithm, hex digest)`` to check the download against; SHA-256 first."""
        if self.sha256:
            return "sha256", self.sha256.lower()
        if self.md5:
            return "md5", self.md5.lower()
        return None

    def fits(self, ram_bytes: int | None) -> bool | None:
        """Whether this machine's memory covers what the model needs; None if either is unknown."""
        if not ram_bytes or not self.ram_gb:
            return None
        return ram_bytes >= self.ram_gb * _GB

    def to_json(self, ram_bytes: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict (``models catalogue --json``), with whether it fits in memory."""
        return {
            "name": self.name,
            "filename": self.filename,
            "url": self.url,
            "filesize": self.filesize,
            "ram_gb": self.ram_gb,
            "fits_in_ram": self.fits(ram_bytes),
            "parameters": self.parameters,
            "quant": self.quant,
            "family": self.family,
            "md5": self.md5,
            "sha256": self.sha256,
        }


def parse_catalogue(data: bytes | str) -> list[CatalogueEntry]:
    """Read a ``models3.json`` document; entries this project cannot use are left out.

    Left out: entries whose file is not a plain ``.gguf`` name (it would be written
    outside the models folder), whose URL is not http(s), or whose checksum is not an
    MD5 or SHA-256 in hex. Whether a URL may be used (https, a public host) is
    decided when it is fetched, by :class:`~gpt4all_rag.models.network.NetworkPolicy`.

    Raises:
        CatalogueError: The document is not JSON, or not a list of objects.
    """
    try:
        items = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"the model catalogue is not valid JSON: {exc}") from exc
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise CatalogueError("the model catalogue is not a JSON list of models")
    entries = (_entry(item) for item in items)
    return [entry for entry in entries if entry is not None]


def _entry(item: dict[str, Any]) -> CatalogueEntry | None:
    """One catalogue object as an entry, or None if it is unusable or unsafe."""
    filename = str(item.get("filename", ""))
    if not is_safe_filename(filename):
        return None
    url = str(item.get("url") or _DEFAULT_DOWNLOAD_BASE + filename)
    md5, sha256 = (_digest(item, key) for key in ("md5sum", "sha256sum"))
    if urlsplit(url).scheme not in ("http", "https") or md5 is None or sha256 is None:
        return None
    return CatalogueEntry(
        name=str(item.get("name") or filename),
        filename=filename,
        url=url,
        filesize=_integer(item.get("filesize")),
        ram_gb=_integer(item.get("ramrequired")),
        md5=md5 or None,
        sha256=sha256 or None,
        parameters=str(item.get("parameters", "")),
        quant=str(item.get("quant", "")),
        family=str(item.get("type", "")),
        embedding=_flag(item.get("embeddingModel")),
        hidden=_flag(item.get("disableGUI")) or bool(item.get("removedIn")),
    )


def is_safe_filename(filename: str) -> bool:
    """Whether a catalogue file name can be stored as is: one plain ``*.gguf`` name, no folders."""
    return (
        _SAFE_FILENAME.fullmatch(filename) is not None
        and ".." not in filename
        and _WINDOWS_DEVICES.fullmatch(filename.split(".", 1)[0]) is None
    )


def _digest(item: dict[str, Any], key: str) -> str | None:
    """A checksum field: "" if absent, the hex digest, or None if it is malformed."""
    value = str(item.get(key) or "").strip()
    if not value:
        return ""
    return value if re.fullmatch(rf"[0-9a-fA-F]{{{_DIGEST_LENGTHS[key]}}}", value) else None


def _integer(value: object) -> int:
    """A catalogue number: GPT4All writes them as strings of digits."""
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


def _flag(value: object) -> bool:
    """A catalogue boolean: ``true`` or the string ``"true"``."""
    return value is True or str(value).lower() == "true"


def fetch_catalogue(
    url: str, timeout_s: float = 30.0, *, policy: NetworkPolicy | None = None
) -> list[CatalogueEntry]:
    """Download and parse the catalogue; the one network call besides ``pull_model``.

    Args:
        url: The ``models3.json`` URL.
        timeout_s: Connect and read timeout.
        policy: Where it may connect, redirects included (default: https to public
            addresses only).

    Raises:
        RefusedSource: The URL or a redirect is not https, or not a public address.
        CatalogueError: The server cannot be reached, answers with an error, or the
            document is not a catalogue.
    """
    import httpx  # httpx: on use only

    try:
        with (
            httpx.Client(timeout=timeout_s, follow_redirects=False) as client,
            open_checked(client, url, {}, policy or NetworkPolicy()) as response,
        ):
            response.raise_for_status()
            body = _read_capped(response, url)
    except httpx.HTTPError as exc:
        raise CatalogueError(f"cannot fetch the model catalogue from {url}: {exc}") from exc
    return parse_catalogue(body)


def _read_capped(response: httpx.Response, url: str) -> bytes:
    """The body, refused past ``_MAX_CATALOGUE_BYTES``: a real catalogue is small."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > _MAX_CATALOGUE_BYTES:
            raise CatalogueError(
                f"the model catalogue at {url} is larger than {_MAX_CATALOGUE_BYTES:,} bytes"
            )
    return bytes(body)


def find_entry(entries: list[CatalogueEntry], wanted: str) -> CatalogueEntry:
    """The entry called ``wanted``: its name or file name, in any case.

    Names repeat in GPT4All's catalogue (an older build of a model, removed since, keeps
    its name): a shown entry wins over a hidden one.

    Raises:
        UnknownModel: No entry matches; the closest names are suggested.
    """
    key = wanted.strip().casefold()
    for entry in sorted(entries, key=lambda entry: entry.hidden or entry.embedding):
        if key in (entry.name.casefold(), entry.filename.casefold()):
            return entry
    names = [entry.name for entry in entries]
    by_key = {name.casefold(): name for name in names}
    close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.5)
    raise UnknownModel(wanted, [by_key[name] for name in close])


def format_size(size: int) -> str:
    """Bytes as people read them: ``98 MB``, ``4.7 GB`` (powers of 1000, like file managers)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def machine_ram_bytes() -> int | None:
    """This machine's physical memory in bytes, or None where it cannot be read."""
    if sys.platform == "win32":
        return _windows_ram()
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _windows_ram() -> int | None:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [  # noqa: RUF012  # the ctypes layout of MEMORYSTATUSEX
            ("length", ctypes.c_ulong),
            ("load", ctypes.c_ulong),
            ("total_physical", ctypes.c_ulonglong),
            ("available_physical", ctypes.c_ulonglong),
            ("total_page_file", ctypes.c_ulonglong),
            ("available_page_file", ctypes.c_ulonglong),
            ("total_virtual", ctypes.c_ulonglong),
            ("available_virtual", ctypes.c_ulonglong),
            ("available_extended_virtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.length = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return int(status.total_physical)
