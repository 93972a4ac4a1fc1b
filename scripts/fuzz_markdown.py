"""Fuzz safe_markdown: how many random texts leak, before the fix and after it.

Usage: python -m scripts.fuzz_markdown [--n 3000] [--seed 21] [--old-rev 99dafb4]
                                       [--out bench-results/fuzz_markdown.json]

Random texts are built (seeded) from fragments rich in backticks, brackets, angle
brackets, underscores, addresses and payload pieces. Each is rendered by
``safe_markdown`` as it was at ``--old-rev`` (read with ``git show``) and as it is
in the work tree; a result leaks when cmark-gfm, markdown-it with linkify, or the
remark-gfm autolink search (tests/helpers/markdown_renderers.py) finds an image, a
link, an autolink or raw HTML in it. Also counted: how often the new version's
fail-closed fallback fires, on the random texts and on ordinary Markdown (the
repository's own docs, split into paragraphs).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from gpt4all_rag import markdown as new
from scripts._common import ROOT, write_result
from tests.helpers.markdown_renderers import FUZZ_FRAGMENTS, live_parts


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(FUZZ_FRAGMENTS) for _ in range(rng.randint(1, 30)))


def load_old(rev: str) -> ModuleType:
    """safe_markdown's module as it was at ``rev``, loaded from a temporary file."""
    source = subprocess.run(
        ["git", "show", f"{rev}:gpt4all_rag/markdown.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location("old_markdown", file.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def count_leaks(texts: list[str], render: Callable[[str], str]) -> dict[str, Any]:
    """How many outputs hold anything live, how many an image (fetched with no click)."""
    leaks = images = 0
    examples: list[dict[str, object]] = []
    for text in texts:
        found = live_parts(render(text))
        if found:
            leaks += 1
            images += any("<img" in part for part in found)
            if len(examples) < 5:
                examples.append({"input": text, "live": found[:3]})
    return {"leaking": leaks, "leaking_images": images, "examples": examples}


def fallbacks(texts: list[str]) -> int:
    """How many texts the new version shows escaped (or as code) rather than rewritten."""
    return sum(new.safe_markdown(t) != new.rewrite_markup(t) for t in texts)


def ordinary_paragraphs() -> list[str]:
    paths = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
    paragraphs = [p for path in paths if path.exists() for p in path.read_text().split("\n\n")]
    return [p for p in paragraphs if p.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--old-rev", default="99dafb4")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "fuzz_markdown.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = [random_text(rng) for _ in range(args.n)]
    old = load_old(args.old_rev)
    started = time.perf_counter()
    ordinary = ordinary_paragraphs()
    result: dict[str, Any] = {
        "inputs": args.n,
        "seed": args.seed,
        "old_rev": args.old_rev,
        "old": count_leaks(texts, old.safe_markdown),
        "new": count_leaks(texts, new.safe_markdown),
        "new_fallbacks_random": fallbacks(texts),
        "ordinary_paragraphs": len(ordinary),
        "new_fallbacks_ordinary": fallbacks(ordinary),
        "new_leaking_ordinary": count_leaks(ordinary, new.safe_markdown)["leaking"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_result(args.out, "fuzz_markdown", result)
    summary = {k: v for k, v in result.items() if k not in ("old", "new")}
    for name in ("old", "new"):
        summary |= {f"{name}_{k}": v for k, v in result[name].items() if k != "examples"}
    print(json.dumps(summary))  # noqa: T201


if __name__ == "__main__":
    main()
