"""What every benchmark script shares: percentiles, peak RSS, the machine, one result file.

Every script saves its figures with :func:`write_result`, wrapped in the same envelope:
which script, when, on which commit and which machine, then its own ``result`` as
before. :func:`read_result` takes the ``result`` back out (and reads a file written
before the envelope existed as it is), for the scripts that add to an earlier file.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = [
    "ROOT",
    "disable_llama_extra_buffers",
    "git_commit",
    "machine",
    "peak_rss_mb",
    "percentile",
    "read_result",
    "write_result",
]

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) as the nearest value of ``values`` (no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory in MB of this process, or of its waited-for children."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KB


def machine() -> dict[str, Any]:
    """The CPU, its cores, Python and the load: what a timing depends on besides the code."""
    return {
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_commit(tree: Path = ROOT) -> str:
    """The short commit of ``tree``, ``+dirty`` with uncommitted changes; else what it is."""
    if not (tree / ".git").exists():
        return f"source tree {tree}"
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def write_result(path: Path, script: str, result: Any, indent: int = 2) -> None:
    """Save ``result`` in the shared envelope (creating the folder); UTF-8, non-ASCII kept."""
    envelope = {
        "script": script,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
        "machine": machine(),
        "result": result,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(envelope, indent=indent, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def read_result(path: Path) -> Any:
    """The ``result`` of a file :func:`write_result` saved (an older bare file as it is)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(saved, dict) and {"script", "result"} <= saved.keys():
        return saved["result"]
    return saved


def disable_llama_extra_buffers() -> None:
    """Load GGUF weights without llama.cpp's extra CPU buffer types (AMX, weight repacking).

    On this VM's CPU (AMX in cpuinfo) llama-cpp-python 0.3.36 segfaults in the first
    batched decode (any prompt of two or more tokens) unless ``use_extra_bufts`` is off;
    the plain AVX-512 path gives the same tokens. Patched here, before any model loads,
    so the benchmark runs the product's code unchanged.
    """
    try:
        import llama_cpp.llama_cpp as bindings  # heavy: only the scripts that run a model
    except ImportError:
        return
    original = bindings.llama_model_default_params

    def params() -> Any:
        chosen = original()
        chosen.use_extra_bufts = False
        return chosen

    bindings.llama_model_default_params = params
