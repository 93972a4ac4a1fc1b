"""The decompression-bomb check for zip-based formats (docx, pptx, epub).

Their parsers inflate every member into memory, so a 10 MB file can become 10 GB. The
zip's central directory says how big each member is before anything is inflated:
refuse the file when the total, or its ratio to the file's size, is out of bounds.
A member that lies about its size cannot inflate past it (``zipfile`` stops reading
at the declared size), and the isolated loader's memory limit backs this up.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.errors import DocumentLoadError
from ingest.loaders.base import LoadLimits, current_limits

__all__ = ["check_zip"]


def check_zip(path: Path, limits: LoadLimits | None = None) -> None:
    """Raise ``DocumentLoadError`` if ``path`` would unzip to too much, or too steeply.

    A file that is not a zip is left for its parser to reject with its own reason.
    """
    limits = limits or current_limits()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    unzipped = sum(info.file_size for info in infos)
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
