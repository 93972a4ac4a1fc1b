"""What a parsing child process needs, written once for the loaders' worker and the page renderer.

Both run untrusted files (PDFs, archives) in a child with an address-space cap,
and both start it with the project importable whatever the working folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["child_environment", "limit_memory"]

_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def child_environment() -> dict[str, str]:
    """This process's environment, with the project's folder first on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    return env


def limit_memory(memory_bytes: int) -> None:
    """Cap this process's address space (``RLIMIT_AS``) at ``memory_bytes``; 0 or less: no cap.

    Never raises the hard limit: a cap already lower stays.
    """
    if memory_bytes <= 0:
        return
    import resource  # POSIX only, and only ever in the child

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
