"""Tabular and structured text (CSV, TSV, JSON): one self-describing line per row or value."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.errors import DocumentLoadError
from ingest.loaders.base import Page, PageBudget
from ingest.loaders.text import BINARY_SNIFF_BYTES, decode_text

__all__ = ["load_csv", "load_json", "load_tsv"]

_CSV_DELIMITERS = ",;\t|"


def load_csv(path: Path) -> list[Page]:
    """Load a CSV file (delimiter sniffed) as one ``header: value`` line per row."""
    text = decode_text(path.read_bytes(), path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:BINARY_SNIFF_BYTES], delimiters=_CSV_DELIMITERS
        )
    except csv.Error:
        dialect = csv.excel
    return [Page("\n".join(_table_lines(csv.reader(io.StringIO(text), dialect))), None)]


def load_tsv(path: Path) -> list[Page]:
    """Load a tab-separated file as one ``header: value`` line per row."""
    text = decode_text(path.read_bytes(), path)
    return [Page("\n".join(_table_lines(csv.reader(io.StringIO(text), csv.excel_tab))), None)]


def _table_lines(rows: Iterator[list[str]]) -> Iterator[str]:
    """Yield each data row as ``h1: v1 | h2: v2`` so a row reads on its own; skip empty cells.

    Cells past the header, or under a blank header, are named ``column N`` (1-based).
    """
    header = [name.strip() for name in next(rows, [])]
    for row in rows:
        names = [
            (header[i] if i < len(header) else "") or f"column {i + 1}" for i in range(len(row))
        ]
        cells = [
            f"{name}: {value.strip()}"
            for name, value in zip(names, row, strict=True)
            if value.strip()
        ]
        if cells:
            yield " | ".join(cells)


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
