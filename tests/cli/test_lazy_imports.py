"""Start-up cost: the CLI module and the package's public names import heavy libraries only
when a command needs them (issue 11)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("langchain_core", "chromadb", "torch", "sentence_transformers", "llama_cpp", "numpy")


def imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_the_cli_module_imports_no_heavy_library():
    assert imported_after("import gpt4all_rag.cli.main") == []


def test_public_names_load_on_first_use():
    assert imported_after("import gpt4all_rag; gpt4all_rag.Settings") == []
    loaded = imported_after("from gpt4all_rag import DocumentAssistant")
    assert loaded == ["langchain_core", "numpy"]  # no store opened, no model library


def test_status_reads_the_manifest_and_loads_no_heavy_library(tmp_path):
    code = (
        "import contextlib, io\n"
        "from gpt4all_rag.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['status', '--index', {str(tmp_path / 'index')!r}, '--json'])"
    )
    assert imported_after(code) == []
