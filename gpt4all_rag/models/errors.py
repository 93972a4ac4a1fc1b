"""The errors of ``gpt4all_rag.models``: a catalogue that cannot be read, a failed pull.

They derive from :class:`~gpt4all_rag.errors.AssistantError`, so the CLI and the
app report them as one readable line like the project's other errors.
"""

from __future__ import annotations

from gpt4all_rag.errors import AssistantError

__all__ = [
    "CatalogueError",
    "ChecksumMismatch",
    "ModelDownloadError",
    "RefusedSource",
    "UnknownModel",
    "UnverifiedModel",
]


class CatalogueError(AssistantError):
    """The model catalogue could not be fetched or is not in the ``models3.json`` format."""


class UnknownModel(AssistantError):
    """No catalogue entry has the name that was asked for."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(
            f"no model named {name!r} in the catalogue{hint} (see `gpt4all-rag models catalogue`)"
        )
        self.name = name
        self.suggestions = suggestions


class ModelDownloadError(AssistantError):
    """A download failed; what was received is kept for the next try when it can be resumed."""


class ChecksumMismatch(ModelDownloadError):
    """The downloaded file's checksum is not the catalogue's: the file was deleted."""

    def __init__(self, filename: str, algorithm: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{filename}: {algorithm} checksum mismatch (expected {expected}, got {actual}); "
            "the download was deleted, nothing was installed"
        )
        self.filename = filename
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class UnverifiedModel(ModelDownloadError):
    """The catalogue gives no checksum for a model, and the person has not accepted that."""

    def __init__(self, name: str, how_to_allow: str = "") -> None:
        hint = f"; {how_to_allow}" if how_to_allow else ""
        super().__init__(
            f"{name}: the catalogue gives no SHA-256 or MD5 checksum for it, so its download "
            f"could not be verified; nothing was downloaded{hint}"
        )
        self.name = name


class RefusedSource(AssistantError):
    """A catalogue or model URL (or a redirect) that may not be used: not https, or not public."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refused {url}: {reason}")
        self.url = url
        self.reason = reason
