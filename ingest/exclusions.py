"""Files the person took out of the index while keeping them in the documents folder.

"Remove from the index" must outlast the next sync: a watched folder syncs again within
seconds and would put the file straight back. The list lives in the index folder
(``excluded.json``, owner-only), so it goes with the index and never touches the
person's documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ingest.atomic import write_atomic

__all__ = ["EXCLUDED_FILE", "EXCLUDED_REASON", "read_excluded", "write_excluded"]

EXCLUDED_FILE = "excluded.json"
EXCLUDED_REASON = "removed from the index (kept in the folder)"


def read_excluded(index_dir: Path) -> frozenset[str]:
    """The excluded paths (relative to the documents folder); none if the file is absent.

    A list that cannot be read excludes nothing: a broken file must not hide documents.
    """
    try:
        data = json.loads((index_dir / EXCLUDED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    paths = data.get("paths") if isinstance(data, dict) else None
    if not isinstance(paths, list):
        return frozenset()
    return frozenset(p for p in paths if isinstance(p, str))


def write_excluded(index_dir: Path, paths: Iterable[str]) -> None:
    """Replace the list at once (written beside it, then renamed), readable by the owner only."""
    body = json.dumps({"paths": sorted(set(paths))}, indent=1)
    write_atomic(index_dir / EXCLUDED_FILE, body, mode=0o600)
