"""Small types shared across the package, defined once."""

from __future__ import annotations

__all__ = ["Message"]

Message = dict[str, str]
"""One chat turn: ``{"role": "system" | "user" | "assistant", "content": text}``."""
