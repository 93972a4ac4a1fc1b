"""``gpt4all-rag models list|catalogue|pull`` end to end, against a server on 127.0.0.1.

The fast tier runs ``main`` in process on hand-made GGUF files; the slow tier runs the
console script, which pulls a hand-made GGUF (2.5 MB) through the server with the
connection cut once on the way (resuming itself is covered fast, in test_models_pull.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gpt4all_rag.cli.main import main
from gpt4all_rag.models import discovery
from gpt4all_rag.models.discovery import bundled_model
from gpt4all_rag.models.pull import file_digest, part_path
from tests.helpers.model_files import (
    LOOPBACK_CIDR,
    FileServer,
    catalogue_item,
    gguf_bytes,
    md5_of,
    write_gguf,
)

SCRIPT = str(Path(sys.executable).with_name("gpt4all-rag"))
REAL_CATALOGUE = Path(__file__).parent / "data" / "models3.json"
MODEL = gguf_bytes({"general.architecture": "llama", "general.name": "Tiny"}) + bytes(2_500_000)
FILENAME = "Tiny-Llama-3-Chat.Q4_0.gguf"  # no template in it: the family decides the format


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake home folder (Linux layout) and an empty models folder, set for the process.

    Only the default bundled package counts, so an optional one installed here (the
    ``gemma`` extra: test_models_bundled.py) does not change what is listed.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setattr(discovery, "BUNDLED_PACKAGES", discovery.BUNDLED_PACKAGES[:1])
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "GPT4ALL_RAG_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GPT4ALL_RAG_MODELS_DIR", str(tmp_path / "models"))
    return home


LOCAL = ("--allow-network", LOOPBACK_CIDR)  # the test server's 127.0.0.1, named by the person


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def serve_model(server: FileServer, data: bytes = MODEL, **extra: object) -> str:
    """Put the model and a catalogue naming it on the server; the catalogue's URL."""
    url = server.add(f"/gguf/{FILENAME}", data)
    return server.add_catalogue([catalogue_item(FILENAME, data, url, **extra)])


def test_list_shows_ours_the_bundled_one_and_gpt4alls(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_gguf(tmp_path / "models" / "mine.gguf", template="{{ x }}", padding=1_500_000)
    gpt4all = home / ".local/share/nomic.ai/GPT4All"
    write_gguf(gpt4all / "Meta-Llama-3-8B-Instruct.Q4_0.gguf", padding=2_000_000)

    code, out, err = run(capsys, "models", "list", "--json")

    assert (code, err) == (0, "")
    listed = [(m["path"], m["source"], m["chat_format"]) for m in json.loads(out)["models"]]
    assert listed == [
        (str(bundled_model()), "bundled", None),
        (str(tmp_path / "models" / "mine.gguf"), "models folder", None),
        (str(gpt4all / "Meta-Llama-3-8B-Instruct.Q4_0.gguf"), "GPT4All", "llama-3"),
    ]
    code, out, _ = run(capsys, "models", "list")
    lines = [line.split("  ")[0] for line in out.splitlines()]
    assert lines == ["FILE", "SmolLM2-135M-Instruct.Q4_1.gguf", "mine.gguf",
                     "Meta-Llama-3-8B-Instruct.Q4_0.gguf"]  # fmt: skip
    assert out.splitlines()[3].split()[1:6] == ["2.0", "MB", "llama-3", "(by", "family)"]


def test_catalogue_shows_ram_needed_against_this_machine(
    home: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.add("/models3.json", REAL_CATALOGUE.read_bytes())

    code, out, _ = run(capsys, "models", "catalogue", "--json", "--catalogue-url", url, *LOCAL)

    assert code == 0
    shown = json.loads(out)
    ram = shown["ram_bytes"]
    assert [(m["name"], m["ram_gb"], m["fits_in_ram"]) for m in shown["models"]] == [
        ("Llama 3 8B Instruct", 8, ram >= 8 * 1024**3),
        ("DeepSeek-R1-Distill-Qwen-1.5B", 3, ram >= 3 * 1024**3),
        ("Llama 3.2 1B Instruct", 2, ram >= 2 * 1024**3),
    ]  # embedding and GUI-hidden models are left out
    _, everything, _ = run(
        capsys, "models", "catalogue", "--json", "--all", "--catalogue-url", url, *LOCAL
    )
    assert len(json.loads(everything)["models"]) == 6
    _, table, _ = run(capsys, "models", "catalogue", "--catalogue-url", url, *LOCAL)
    assert table.splitlines()[0].split() == ["NAME", "SIZE", "RAM", "NEEDED", "FITS",
                                             "PARAMETERS", "QUANT"]  # fmt: skip
    assert table.splitlines()[1].split()[:8] == ["Llama", "3", "8B", "Instruct", "4.7", "GB",
                                                 "8", "GB"]  # fmt: skip
    assert f"this machine has {ram / 1024**3:.1f} GB of RAM" in table


def test_pull_downloads_with_a_progress_bar_then_lists_the_model(
    home: Path,
    tmp_path: Path,
    server: FileServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalogue = serve_model(server)
    monkeypatch.setenv("GPT4ALL_RAG_MODEL_CATALOGUE_URL", catalogue)  # the setting

    code, out, err = run(capsys, "models", "pull", "tiny llama 3 chat.q4_0", "--json", *LOCAL)

    target = tmp_path / "models" / FILENAME
    assert code == 0, err
    result = json.loads(out)
    assert (result["name"], result["path"], result["size"], result["checksum"]) == (
        "Tiny Llama 3 Chat.Q4_0",
        str(target),
        len(MODEL),
        "md5",
    )
    assert target.read_bytes() == MODEL
    # tqdm's bar on stderr: file, percentage, bytes, elapsed<ETA, rate.
    assert re.search(rf"{re.escape(FILENAME)}: 100%\S* 2\.5\d?M/2\.5\d?M \[\d\d:\d\d<00:00, ", err)
    _, listed, _ = run(capsys, "models", "list", "--json")
    mine = json.loads(listed)["models"][1]
    assert (mine["path"], mine["source"], mine["chat_format"]) == (
        str(target),
        "models folder",
        "llama-3",
    )


def test_pull_again_says_it_is_installed(
    home: Path, tmp_path: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = serve_model(server)
    args = ("models", "pull", FILENAME, "--catalogue-url", catalogue, "--no-progress", *LOCAL)
    assert run(capsys, *args)[0] == 0

    code, out, err = run(capsys, *args)

    target = tmp_path / "models" / FILENAME
    assert (code, err) == (0, "")
    assert out == (
        f"Tiny Llama 3 Chat.Q4_0 already installed: {target} (2.5 MB, md5 checked)\n"
        f"use it with GPT4ALL_RAG_MODEL_PATH={target} or pick it in the app's settings\n"
    )


def test_a_checksum_mismatch_is_exit_2_and_installs_nothing(
    home: Path, tmp_path: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = serve_model(server, md5sum=md5_of(b"something else"))

    code, out, err = run(capsys, "models", "pull", FILENAME, "--catalogue-url", catalogue, *LOCAL)

    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        f"gpt4all-rag: error: {FILENAME}: md5 checksum mismatch (expected "
        f"{md5_of(b'something else')}, got {md5_of(MODEL)}); the download was deleted, "
        "nothing was installed"
    )
    assert list((tmp_path / "models").iterdir()) == []


def test_an_unknown_name_or_an_unreachable_catalogue_is_exit_2(
    home: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = serve_model(server)

    code, _, err = run(
        capsys, "models", "pull", "Tiny Lama 3", "--catalogue-url", catalogue, *LOCAL
    )
    assert code == 2
    assert err == (
        "gpt4all-rag: error: no model named 'Tiny Lama 3' in the catalogue; did you mean: Tiny "
        "Llama 3 Chat.Q4_0 (see `gpt4all-rag models catalogue`)\n"
    )

    gone = "http://127.0.0.1:9/models3.json"
    code, _, err = run(capsys, "models", "catalogue", "--catalogue-url", gone, *LOCAL)
    assert code == 2
    assert err.startswith(f"gpt4all-rag: error: cannot fetch the model catalogue from {gone}: ")


@pytest.mark.slow
def test_console_script_pulls_a_gguf_resuming_a_cut_download(
    tmp_path: Path, server: FileServer
) -> None:
    real = bundled_model()
    assert real is not None
    catalogue = serve_model(server)
    server.drop_after, server.drops_left = 1_000_000, 1
    env = {**os.environ, "HOME": str(tmp_path / "home"), "GPT4ALL_RAG_MODELS_DIR": str(tmp_path)}
    env["GPT4ALL_RAG_MODEL_CATALOGUE_URL"] = catalogue

    pull = subprocess.run([SCRIPT, "models", "pull", FILENAME, "--json", *LOCAL],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip

    assert pull.returncode == 0, pull.stderr
    assert json.loads(pull.stdout)["size"] == len(MODEL)
    assert [r for _, r in server.requests[1:]] == [None, "bytes=1000000-"]
    pulled = tmp_path / FILENAME
    assert file_digest(pulled, "md5") == md5_of(MODEL)
    assert not part_path(pulled).exists()
    listed = subprocess.run([SCRIPT, "models", "list", "--json"], capture_output=True,
                            text=True, env=env, timeout=120)  # fmt: skip
    sources = {(m["path"], m["source"]) for m in json.loads(listed.stdout)["models"]}
    assert sources == {(str(real), "bundled"), (str(pulled), "models folder")}


def test_an_embedding_model_is_not_pulled(
    home: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.add("/models3.json", REAL_CATALOGUE.read_bytes())

    code, _, err = run(
        capsys, "models", "pull", "Nomic Embed Text v1.5", "--catalogue-url", url, *LOCAL
    )

    assert (code, err) == (
        2,
        "gpt4all-rag: error: Nomic Embed Text v1.5 is an embedding model: it cannot answer "
        "questions\n",
    )
    assert [path for path, _ in server.requests] == ["/models3.json"]


def test_without_allow_network_the_loopback_server_is_refused(
    home: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = serve_model(server)

    code, out, err = run(capsys, "models", "pull", FILENAME, "--catalogue-url", catalogue)

    assert (code, out) == (2, "")
    assert err == (
        f"gpt4all-rag: error: refused {catalogue}: 127.0.0.1 is 127.0.0.1, a loopback address; "
        "models come only from public addresses\n"
    )
    assert server.requests == []


def test_a_model_without_a_checksum_needs_allow_unverified(
    home: Path, tmp_path: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = serve_model(server, md5sum="")
    args = ("models", "pull", FILENAME, "--catalogue-url", catalogue, "--no-progress", *LOCAL)

    code, out, err = run(capsys, *args)

    assert (code, out) == (2, "")
    assert err == (
        "gpt4all-rag: error: Tiny Llama 3 Chat.Q4_0: the catalogue gives no SHA-256 or MD5 "
        "checksum for it, so its download could not be verified; nothing was downloaded; "
        "pass --allow-unverified to install it anyway\n"
    )
    assert [path for path, _ in server.requests] == ["/models3.json"]
    code, out, err = run(capsys, *args, "--allow-unverified")
    target = tmp_path / "models" / FILENAME
    assert (code, err, target.read_bytes()) == (0, "", MODEL)
    assert out.splitlines()[0] == (
        f"Tiny Llama 3 Chat.Q4_0 installed: {target} (2.5 MB, NOT verified: no checksum)"
    )


def test_allow_network_takes_only_network_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["models", "catalogue", "--allow-network", "my-lan"])

    assert caught.value.code == 2
    assert "argument --allow-network: not a network address: 'my-lan'" in capsys.readouterr().err
