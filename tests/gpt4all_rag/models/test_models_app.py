"""The app's model picker lists discovered models; the catalogue panel fetches only on request.

Runs the real page through Streamlit's ``AppTest`` with the llama-cpp backend (the
model loads only for a question, and none is asked), the hash embedder, a fake home
folder holding a GPT4All model, and a catalogue served on 127.0.0.1, which the page
may reach only when the test puts the ``LOOPBACK`` policy in its session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gpt4all_rag.models.catalogue import machine_ram_bytes
from gpt4all_rag.models.network import NetworkPolicy
from tests.helpers.app_page import app_page
from tests.helpers.model_files import (
    LOOPBACK,
    FileServer,
    catalogue_item,
    gguf_bytes,
    write_gguf,
)

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 60
GPT4ALL = Path(".local/share/nomic.ai/GPT4All")
MODEL = gguf_bytes({"general.architecture": "qwen2", "tokenizer.chat_template": "{{ x }}"})
PULLED = "qwen2-tiny-instruct-q4_0.gguf"


@pytest.fixture
def page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty documents, a fake home with one GPT4All model, the llama-cpp backend."""
    home = tmp_path / "home"
    write_gguf(home / GPT4ALL / "Meta-Llama-3-8B-Instruct.Q4_0.gguf", padding=2_000_000)
    (tmp_path / "docs").mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "GPT4ALL_RAG_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(tmp_path / "docs"))
    monkeypatch.setenv("GPT4ALL_RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("GPT4ALL_RAG_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("GPT4ALL_RAG_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "llama-cpp")
    return home


def open_page(policy: NetworkPolicy | None = LOOPBACK) -> AppTest:
    """The page, opened with the launch link; ``policy`` put in its session if given."""
    page = app_page(TIMEOUT)
    if policy is not None:
        page.session_state["model_network_policy"] = policy
    page.run()
    assert not page.exception, page.exception
    return page


def test_the_picker_lists_gpt4alls_model_with_size_and_chat_format(page_env: Path) -> None:
    page = open_page()

    picker = page.selectbox(key="model_choice")
    assert picker.options == [
        "SmolLM2-135M-Instruct.Q4_1.gguf · 98 MB · template in the GGUF · bundled (configured)",
        "Meta-Llama-3-8B-Instruct.Q4_0.gguf · 2.0 MB · llama-3 (by family) · GPT4All",
    ]
    picker.set_value(page_env / GPT4ALL / "Meta-Llama-3-8B-Instruct.Q4_0.gguf").run()
    assert not page.exception, page.exception
    settings = next(e for e in page.sidebar.expander if e.label == "Settings")
    assert settings.caption[0].value == (
        f"2.0 MB · chat format: llama\\-3 \\(by family\\) · GPT4All · `{page_env / GPT4ALL}`"
    )
    captions = [c.value for c in page.sidebar.caption if c.value.startswith("Model: ")]
    assert captions[0].split("\n")[0] == "Model: `Meta-Llama-3-8B-Instruct.Q4_0.gguf`  "


def test_the_catalogue_is_fetched_only_when_asked_then_a_model_is_pulled(
    page_env: Path, tmp_path: Path, server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.add(f"/gguf/{PULLED}", MODEL)
    big = catalogue_item("huge-70b-q4_0.gguf", b"", url, name="Huge 70B", ramrequired="100000")
    small = catalogue_item(PULLED, MODEL, url, name="Qwen2 Tiny", ramrequired="1")
    embed = catalogue_item("embed.gguf", MODEL, url, name="Embedder", embeddingModel=True)
    monkeypatch.setenv("GPT4ALL_RAG_MODEL_CATALOGUE_URL", server.add_catalogue([big, small, embed]))

    page = open_page()
    panel = next(e for e in page.sidebar.expander if e.label == "Get a better model")
    assert server.requests == []  # nothing fetched until the button
    assert not any("This computer has" in m.value for m in panel.markdown)

    page.button(key="fetch_catalogue").click().run()
    assert not page.exception, page.exception
    ram = machine_ram_bytes()
    assert ram is not None
    panel = next(e for e in page.sidebar.expander if e.label == "Get a better model")
    assert [m.value for m in panel.markdown if "This computer has" in m.value] == [
        f"This computer has **{ram / 1024**3:.1f} GB** of memory.\n\n"
        "- **Huge 70B**: 0 B download, needs 100000 GB of memory (too big for this computer)\n"
        f"- **Qwen2 Tiny**: {len(MODEL)} B download, needs 1 GB of memory (fits)"
    ]

    page.selectbox(key="catalogue_choice").set_value("Qwen2 Tiny").run()
    page.button(key="pull_model").click().run()

    assert not page.exception, page.exception
    assert (tmp_path / "models" / PULLED).read_bytes() == MODEL
    assert [s.value for s in page.success] == [
        f"Downloaded Qwen2 Tiny to `{tmp_path / 'models' / PULLED}`. Choose it under "
        "**Settings**, **Model**."
    ]
    assert page.selectbox(key="model_choice").options[1] == (
        f"{PULLED} · {len(MODEL)} B · template in the GGUF · models folder"
    )
    assert page.button(key="pull_model").label == "Installed"


def test_the_page_refuses_a_catalogue_on_this_machine_by_default(
    page_env: Path, server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = server.add_catalogue([catalogue_item(PULLED, MODEL, server.base_url + "/m")])
    monkeypatch.setenv("GPT4ALL_RAG_MODEL_CATALOGUE_URL", catalogue)
    page = open_page(policy=None)

    page.button(key="fetch_catalogue").click().run()

    assert not page.exception, page.exception
    assert [e.value for e in page.error] == [  # as escape_text shows it: inert Markdown
        f"refused `{catalogue}`\\: 127\\.0\\.0\\.1 is 127\\.0\\.0\\.1\\, a loopback address\\; "
        "models come only from public addresses"
    ]
    assert server.requests == []


def test_a_model_without_a_checksum_downloads_only_once_the_box_is_ticked(
    page_env: Path, tmp_path: Path, server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.add(f"/gguf/{PULLED}", MODEL)
    bare = catalogue_item(PULLED, MODEL, url, name="Qwen2 Tiny", md5sum="")
    monkeypatch.setenv("GPT4ALL_RAG_MODEL_CATALOGUE_URL", server.add_catalogue([bare]))
    page = open_page()
    page.button(key="fetch_catalogue").click().run()

    assert [w.value for w in page.warning] == [
        "The catalogue gives no checksum for Qwen2 Tiny: its download cannot be verified, so "
        "a changed or damaged file would not be noticed."
    ]
    assert page.button(key="pull_model").disabled is True
    page.checkbox(key="allow_unverified").check().run()
    assert page.button(key="pull_model").disabled is False
    page.button(key="pull_model").click().run()

    assert not page.exception, page.exception
    assert (tmp_path / "models" / PULLED).read_bytes() == MODEL
    assert [path for path, _ in server.requests] == ["/models3.json", f"/gguf/{PULLED}"]
