"""Ingest as a person sees it: `gpt4all-rag ingest` in a terminal, its ETA, its wall and peak RSS.

Usage: python -m scripts.bench_progress --corpus DIR [--out bench-results/progress.json]

Runs the real console script under a pseudo-terminal (120 columns, so tqdm draws its bar)
into a fresh index, and reads what the terminal shows: when the bar first appears, when it
first shows an ETA, and how each ETA compares with the time that was really left. The peak
RSS is the command's own (``RUSAGE_CHILDREN`` after it exits; the parser worker is a
process of its own and counts apart). Prints and saves JSON.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import shutil
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

from scripts._common import ROOT, peak_rss_mb, write_result

CLI = ROOT / ".venv" / "bin" / "gpt4all-rag"
# tqdm's "[elapsed<remaining, rate, ...]"; "?" before the first rate is known.
_ETA = re.compile(r"\[(\d+:\d{2}(?::\d{2})?)<(\d+:\d{2}(?::\d{2})?|\?)")


def seconds(clock: str) -> int:
    """tqdm's ``M:SS`` or ``H:MM:SS`` as seconds."""
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total


def run_in_terminal(argv: list[str], env: dict[str, str]) -> tuple[list[tuple[float, str]], int]:
    """The command's screen output with the time each line arrived, and its exit status."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command itself
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    lines: list[tuple[float, str]] = []
    pending = ""
    while True:
        try:
            data = os.read(fd, 65536).decode(errors="replace")
        except OSError:  # the terminal closes when the command exits
            break
        if not data:
            break
        pending += data
        *complete, pending = re.split(r"[\r\n]+", pending)
        now = time.perf_counter() - started
        lines.extend((now, line.strip()) for line in complete if line.strip())
    _, status = os.waitpid(pid, 0)
    return lines, os.waitstatus_to_exitcode(status)


def summary(lines: list[tuple[float, str]], wall: float) -> dict[str, object]:
    """When the bar and the first ETA appeared, and how far each ETA was from the truth."""
    bars = [(t, m) for t, line in lines if (m := _ETA.search(line))]
    etas = [(t, seconds(m.group(2))) for t, m in bars if m.group(2) != "?"]
    errors = [abs((wall - t) - eta) / max(wall - t, 1.0) for t, eta in etas if wall - t > 10]
    return {
        "bar_shown_s": round(bars[0][0], 2) if bars else None,
        "first_eta_s": round(etas[0][0], 2) if etas else None,
        "eta_updates": len(etas),
        "eta_median_relative_error": round(sorted(errors)[len(errors) // 2], 3) if errors else None,
        "eta_samples": [
            {"at_s": round(t, 1), "eta_s": e, "left_s": round(wall - t, 1)}
            for t, e in etas[:: max(1, len(etas) // 12)]
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--cli", type=Path, default=CLI)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "progress.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-progress-"))
    env = {**os.environ, "GPT4ALL_RAG_INDEX_DIR": str(work / "index"), "COLUMNS": "120"}
    try:
        started = time.perf_counter()
        lines, code = run_in_terminal([str(args.cli), "ingest", str(args.corpus)], env)
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, object] = {
        "corpus": str(args.corpus),
        "exit_code": code,
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak_rss_mb(children=True), 1),
        **summary(lines, wall),
        "last_lines": [line for _, line in lines[-2:]],
    }
    chunks = [int(m.group(1)) for _, line in lines if (m := re.search(r"chunks=(\d+)", line))]
    if chunks:
        result["chunks"] = chunks[-1]
        result["chunks_per_s"] = round(chunks[-1] / wall, 1)
    print(json.dumps(result, indent=2))
    write_result(args.out, "bench_progress", result)
    return 0 if code in (0, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
