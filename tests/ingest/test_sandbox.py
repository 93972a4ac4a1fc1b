"""The parsing child's environment and address-space cap (ingest.sandbox)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.sandbox import child_environment, limit_memory

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_comes_first_on_pythonpath(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = child_environment()
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/elsewhere"]
    assert env["PATH"] == os.environ["PATH"]


def test_no_pythonpath_gives_the_project_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    assert child_environment()["PYTHONPATH"] == str(ROOT)


def test_a_child_started_elsewhere_imports_the_project(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import ingest.sandbox"],
        cwd=tmp_path,
        env=child_environment(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def _in_child(code: str) -> str:
    """Run ``code`` in a fresh interpreter (a cap must never touch the test process)."""
    done = subprocess.run(
        [sys.executable, "-c", f"from ingest.sandbox import limit_memory\n{code}"],
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux has it")
def test_the_cap_is_set_and_an_allocation_past_it_fails() -> None:
    out = _in_child(
        "import resource\n"
        "limit_memory(1 << 30)\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[0] == 1 << 30)\n"
        "try:\n"
        "    bytearray(2 << 30)\n"
        "except MemoryError:\n"
        "    print('refused')\n"
    )
    assert out.split() == ["True", "refused"]


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux has it")
def test_a_lower_hard_limit_stays_and_zero_means_no_cap() -> None:
    out = _in_child(
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
        "limit_memory(0)\n"
        "print(resource.getrlimit(resource.RLIMIT_AS) == (soft, hard))\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "limit_memory(8 << 30)\n"
        "print(resource.getrlimit(resource.RLIMIT_AS) == (3 << 30, 3 << 30))\n"
    )
    assert out.split() == ["True", "True"]


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux has it")
def test_limit_memory_is_a_no_op_without_a_cap() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    limit_memory(0)  # in this process: must not touch its limits
    limit_memory(-1)
    assert resource.getrlimit(resource.RLIMIT_AS) == before
