"""Folder watching as a person sees it: `gpt4all-rag watch` on a real folder, real embedder.

Usage: python -m scripts.bench_watch [--corpus DIR] [--idle-s 60] [--out bench-results/watch.json]

Runs the real console script (``watch --json``) on a fresh folder and index, reads its
JSON lines with the time each arrived, and measures the goals of issue 22:

- a ~100-page PDF (R-intro.pdf, 113 pages) dropped in: time until it is indexed, against
  its own ``ingest`` time, and whether a search for a sentence of page 60 finds page 60;
- the PDF deleted: time until the watcher has removed it, and search no longer finds it;
- 1,000 small files moved in at once: all indexed, the time against one ``ingest`` of the
  same files, and the watcher's peak RSS (VmHWM);
- a file written slowly over 10 s: the manifest, read every 0.1 s, never holds it at
  less than its final size (half-written), and it is added once;
- kill -9 of the watcher mid-burst, then a restart: an ``ingest`` afterwards has nothing
  to do;
- idle CPU of the watcher (utime + stime from /proc) over ``--idle-s`` seconds.

Prints and saves JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from scripts._common import ROOT, write_result

CLI = str(ROOT / ".venv" / "bin" / "gpt4all-rag")
DEFAULT_CORPUS = ROOT / "bench-data/r-doc-pdf/usr/share/R/doc/manual"
PDF = "R-intro.pdf"
PAGE = 60
ENV = {**os.environ, "GPT4ALL_RAG_LLM_BACKEND": "scripted", "OMP_WAIT_POLICY": "PASSIVE"}


class Watcher:
    """A ``gpt4all-rag watch --json`` process and the lines it printed, timed."""

    def __init__(self, docs: Path, index: Path) -> None:
        argv = [CLI, "watch", str(docs), "--index", str(index), "--json"]
        argv += ["--debounce", "1", "--settle", "1"]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV
        )
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append((time.perf_counter(), json.loads(line)))
                self.changed.notify_all()

    def wait(self, event: str, files: set[str], timeout: float = 900.0) -> float:
        """The time the last of ``files`` was told with ``event``."""
        end = time.perf_counter() + timeout
        with self.changed:
            while True:
                told = {r.get("file"): t for t, r in self.lines if r.get("event") == event}
                if files <= told.keys():
                    return max(told[f] for f in files)
                if not self.changed.wait(max(end - time.perf_counter(), 0.01)):
                    raise TimeoutError(f"{event} {len(files - told.keys())} files not seen")

    def wait_message(self, text: str, timeout: float = 600.0) -> float:
        end = time.perf_counter() + timeout
        with self.changed:
            while True:
                for moment, record in self.lines:
                    if text in str(record.get("message", "")):
                        return moment
                if not self.changed.wait(max(end - time.perf_counter(), 0.01)):
                    raise TimeoutError(text)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def ingest(docs: Path, index: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(
        [CLI, "ingest", str(docs), "--index", str(index), "--json"],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def search(index: Path, query: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [CLI, "search", query, "--index", str(index), "--json", "--k", "3"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    return list(json.loads(done.stdout)["results"])


def page_sentence(pdf: Path, page: int) -> str:
    import pypdfium2

    text = pypdfium2.PdfDocument(pdf)[page - 1].get_textpage().get_text_range()
    lines = [line.strip() for line in text.splitlines() if len(line.split()) >= 8]
    return max(lines, key=len)


def small_files(folder: Path, count: int, tag: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"{tag}-{n:04d}.md").write_text(
            f"# Note {tag} {n}\n\nNote number {n} of batch {tag} records the value {n * 7}.\n"
        )


def move_all(source: Path, target: Path) -> None:
    for path in sorted(source.iterdir()):
        path.rename(target / path.name)


def bench_pdf(w: Watcher, docs: Path, index: Path, pdf: Path, own_ingest_s: float) -> dict:
    dropped = time.perf_counter()
    shutil.copy(pdf, docs / PDF)
    added = w.wait("added", {PDF}) - dropped
    hits = search(index, page_sentence(pdf, PAGE))
    top = hits[0] if hits else {}
    deleted_at = time.perf_counter()
    (docs / PDF).unlink()
    gone = w.wait("deleted", {PDF}) - deleted_at
    after = search(index, page_sentence(pdf, PAGE))
    return {
        "pdf": PDF,
        "own_ingest_s": round(own_ingest_s, 2),
        "drop_to_indexed_s": round(added, 2),
        "within_ingest_plus_5s": added <= own_ingest_s + 5,
        "top_hit": {"file": top.get("file"), "page": top.get("page")},
        "right_page": top.get("file") == PDF and top.get("page") == PAGE,
        "delete_to_removed_s": round(gone, 2),
        "deleted_within_5s": gone <= 5,
        "deleted_left_search": all(h.get("file") != PDF for h in after),
    }


def bench_burst(w: Watcher, docs: Path, work: Path) -> dict:
    staged = work / "staged"
    small_files(staged, 1000, "burst")
    names = {p.name for p in staged.iterdir()}
    started = time.perf_counter()
    move_all(staged, docs)
    watched_s = w.wait("added", names) - started
    small_files(work / "alone", 1000, "burst")
    alone_s, report = ingest(work / "alone", work / "alone-index")
    return {
        "files": 1000,
        "all_indexed": True,
        "watch_s": round(watched_s, 2),
        "one_ingest_s": round(alone_s, 2),
        "ratio": round(watched_s / alone_s, 2),
        "one_ingest_added": len(report["added"]),
        "watcher_peak_rss_mb": round(w.peak_rss_mb(), 1),
    }


def bench_slow_write(w: Watcher, docs: Path, index: Path) -> dict:
    path = docs / "slow.md"
    seen_sizes: list[int] = []
    with path.open("w") as handle:
        for n in range(20):  # 10 s
            handle.write(f"Line {n}: the slow writer adds the word slowword{n}.\n\n")
            handle.flush()
            deadline = time.perf_counter() + 0.5
            while time.perf_counter() < deadline:
                seen_sizes += _indexed_size(index, "slow.md")
                time.sleep(0.1)
    final = path.stat().st_size
    w.wait("added", {"slow.md"}, timeout=60)
    seen_sizes += _indexed_size(index, "slow.md")
    told = sum(1 for _, r in w.lines if r.get("file") == "slow.md")
    return {
        "seconds_written": 10,
        "final_size": final,
        "sizes_seen_indexed": sorted(set(seen_sizes)),
        "never_half": all(s == final for s in seen_sizes),
        "changes_told": told,
    }


def _indexed_size(index: Path, path: str) -> list[int]:
    with sqlite3.connect(f"file:{index / 'manifest.sqlite3'}?mode=ro", uri=True) as db:
        return [r[0] for r in db.execute("SELECT size FROM files WHERE path = ?", (path,))]


def bench_kill(w: Watcher, docs: Path, index: Path, work: Path) -> tuple[dict, Watcher]:
    small_files(work / "staged2", 1000, "kill")
    move_all(work / "staged2", docs)
    time.sleep(3.0)  # the first sync is under way
    w.process.kill()
    w.process.wait()
    restarted = Watcher(docs, index)
    restarted.wait_message("watching")
    restarted.stop()
    _, after = ingest(docs, index)
    left = {k: after[k] for k in ("added", "updated", "moved", "deleted")}
    indexed = len(_paths(index))
    on_disk = sum(1 for p in docs.iterdir() if p.suffix == ".md")
    return {
        "ingest_after_restart": left,
        "nothing_to_do": not any(left.values()),
        "indexed_files": indexed,
        "files_on_disk": on_disk,
    }, restarted


def _paths(index: Path) -> list[str]:
    with sqlite3.connect(f"file:{index / 'manifest.sqlite3'}?mode=ro", uri=True) as db:
        return [r[0] for r in db.execute("SELECT path FROM files")]


def bench_idle(docs: Path, index: Path, seconds: float) -> dict:
    w = Watcher(docs, index)
    w.wait_message("watching")
    time.sleep(2.0)
    before, started = w.cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    used, wall = w.cpu_seconds() - before, time.perf_counter() - started
    code = w.stop()
    return {
        "seconds": round(wall, 1),
        "cpu_percent": round(100 * used / wall, 3),
        "sigterm_exit": code,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--idle-s", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "watch.json")
    args = parser.parse_args()
    pdf = args.corpus / PDF
    if not pdf.is_file():
        print(f"{pdf} missing: run scripts/fetch_corpora.sh bench-data", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    try:
        results = run(work, pdf, args.idle_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_result(args.out, "bench_watch", results)
    print(json.dumps(results, indent=2))
    return 0


def run(work: Path, pdf: Path, idle_s: float) -> dict[str, Any]:
    alone = work / "pdf-alone"
    alone.mkdir()
    shutil.copy(pdf, alone / PDF)
    own_s, _ = ingest(alone, work / "pdf-alone-index")
    docs, index = work / "docs", work / "index"
    docs.mkdir()
    (docs / "readme.md").write_text("# Start\n\nThe folder starts with one note.\n")
    w = Watcher(docs, index)
    w.wait_message("watching")
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "load": os.getloadavg()}
    results["pdf"] = bench_pdf(w, docs, index, pdf, own_s)
    results["burst"] = bench_burst(w, docs, work)
    results["slow_write"] = bench_slow_write(w, docs, index)
    results["kill_restart"], _ = bench_kill(w, docs, index, work)
    results["idle"] = bench_idle(docs, index, idle_s)
    return results


if __name__ == "__main__":
    sys.exit(main())
