"""Structured text (JSON): one self-describing line per value. Tables are in ``tables``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.errors import DocumentLoadError
from ingest.loaders.base import Page, PageBudget
from ingest.loaders.text import decode_text

__all__ = ["load_json"]


def load_json(path: Path) -> list[Page]:
    """Load a JSON document as one ``a.b[0].c: value`` line per scalar."""
    text = decode_text(path.read_bytes(), path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentLoadError(
            path, f"invalid JSON: line {exc.lineno} column {exc.colno}"
        ) from exc
    budget = PageBudget(path)  # every line repeats its key path: a small file can explode
    return [Page("\n".join(_counted(_flatten_json(data, ""), budget)), None)]


def _counted(lines: Iterator[str], budget: PageBudget) -> Iterator[str]:
    for line in lines:
        budget.add_text(line)
        yield line


def _flatten_json(value: Any, prefix: str) -> Iterator[str]:
    """Yield ``path: value`` for every scalar under ``value``; ``prefix`` is its own path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten_json(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten_json(item, f"{prefix}[{index}]")
    else:
        scalar = value if isinstance(value, str) else json.dumps(value)
        yield f"{prefix}: {scalar}" if prefix else scalar
