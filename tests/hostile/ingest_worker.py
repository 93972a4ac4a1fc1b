"""Load or stream one file, or ingest a folder with the hash embedder; print JSON with the
peak RSS.

Run as a child process (by test_large_file) so that the memory measured is this work's
alone: the child reports its own peak (VmHWM), which RUSAGE_CHILDREN in a long pytest
session would mix with every earlier child's.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gpt4all_rag.assistant.single import DocumentAssistant  # noqa: E402
from gpt4all_rag.settings import Settings  # noqa: E402
from gpt4all_rag.testing import HashEmbedder  # noqa: E402
from ingest.loaders import load_file, stream_file  # noqa: E402


def peak_mb() -> float:
    """This process's own peak RSS.

    VmHWM, not ru_maxrss: Linux carries a parent's high-water mark into a forked child's
    ru_maxrss, so a child of a big pytest process would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    mode, target = sys.argv[1], Path(sys.argv[2])
    result: dict[str, object] = {}
    if mode == "load":
        result["chars"] = sum(len(page.text) for page in load_file(target))
    elif mode == "stream":
        result["chars"] = sum(len(page.text) for page in stream_file(target))
    else:
        settings = Settings(documents_dir=target, index_dir=Path(sys.argv[3]))
        report = DocumentAssistant.from_settings(settings, embedder=HashEmbedder()).ingest()
        result["report"] = report.to_json()
    result["peak_mb"] = round(peak_mb(), 1)
    print(json.dumps(result))
