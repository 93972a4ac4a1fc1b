"""Collections in the page (``AppTest``, on the fakes): choose several to ask, add, remove.

Two collections, alpha and beta, each hold a ``notes.txt`` with different text; the
default collection is the settings' own documents folder, as in ``test_app.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.index.registry import CollectionRegistry
from gpt4all_rag.settings import Settings
from tests.helpers.app_page import app_page

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
ALPHA_TEXT = "The reactor coolant is blue and flows at nine litres a second."
BETA_TEXT = "The garden tulips are red and bloom in the second week of April."
QUESTION = "What colour are the reactor coolant and the garden tulips?"
REPLY = "The coolant is blue [1] and the tulips are red [2]."


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The default folder (empty) and alpha and beta, registered and indexed; fakes by env."""
    made = {name: tmp_path / name for name in ("docs", "alpha", "beta")}
    for folder in made.values():
        folder.mkdir()
    (made["alpha"] / "notes.txt").write_text(ALPHA_TEXT + "\n", encoding="utf-8")
    (made["beta"] / "notes.txt").write_text(BETA_TEXT + "\n", encoding="utf-8")
    env = {
        "DOCUMENTS_DIR": str(made["docs"]),
        "INDEX_DIR": str(tmp_path / "index"),
        "EMBEDDING_BACKEND": "hash",
        "LLM_BACKEND": "scripted",
        "SCRIPTED_REPLIES": json.dumps([REPLY]),
        "RELEVANCE_FLOOR": "0.0",
    }
    for name, value in env.items():
        monkeypatch.setenv(f"GPT4ALL_RAG_{name}", value)
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)
    monkeypatch.delenv("GPT4ALL_RAG_COLLECTION", raising=False)
    settings = Settings()
    registry = CollectionRegistry.for_settings(settings)
    for name in ("alpha", "beta"):
        registry.add(name, made[name])
        DocumentAssistant.for_collection(name, settings).ingest()
    return made


def open_page() -> AppTest:
    page = app_page(TIMEOUT).run()
    assert not page.exception, page.exception
    return page


def test_asking_two_collections_lists_and_cites_both(folders: dict[str, Path]) -> None:
    page = open_page()
    picker = page.multiselect(key="collections")
    assert (picker.options, picker.value) == (["default", "alpha", "beta"], ["default"])
    assert [s.value for s in page.sidebar.subheader] == ["Indexed in default (0)"]

    picker.set_value(["alpha", "beta"]).run()
    assert not page.exception, page.exception
    assert [s.value for s in page.sidebar.subheader] == [
        "Indexed in alpha (1)",
        "Indexed in beta (1)",
    ]
    assert [m.value for m in page.sidebar.markdown] == [
        "**notes\\.txt**  \n1 chunk",
        "**notes\\.txt**  \n1 chunk · collection beta",
    ]
    assert f"`{folders['alpha']}`" in page.sidebar.caption[0].value

    page.chat_input(key="question").set_value(QUESTION).run()
    assert not page.exception, page.exception
    labels = sorted(e.label for e in page.chat_message[1].expander)
    assert labels == [
        "\\[1\\] notes\\.txt · collection alpha",
        "\\[2\\] notes\\.txt · collection beta",
    ] or labels == [
        "\\[1\\] notes\\.txt · collection beta",
        "\\[2\\] notes\\.txt · collection alpha",
    ]


def test_a_collection_is_added_and_removed_in_the_settings(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    gamma = tmp_path / "gamma"
    gamma.mkdir()
    page = open_page()
    page.text_input(key="collection_name").set_value("gamma")
    page.text_input(key="collection_folder").set_value(str(gamma))
    page.button(key="collection_add").click().run()
    assert not page.exception, page.exception
    assert [s.value for s in page.sidebar.success] == [
        "Added collection gamma: choose it, then Rescan folder."
    ]
    assert page.multiselect(key="collections").options == ["default", "alpha", "beta", "gamma"]

    page.text_input(key="collection_name").set_value("Bad Name")
    page.button(key="collection_add").click().run()
    assert page.sidebar.error[0].value.startswith("Collection not added: bad collection name")

    page.selectbox(key="collection_gone").set_value("alpha")
    page.button(key="collection_remove").click().run()
    assert not page.exception, page.exception
    assert [s.value for s in page.sidebar.success] == [
        "Removed collection alpha; its documents were not touched."
    ]
    assert page.multiselect(key="collections").options == ["default", "beta", "gamma"]
    assert (folders["alpha"] / "notes.txt").read_text(encoding="utf-8") == ALPHA_TEXT + "\n"
    assert not (tmp_path / "collections" / "alpha").exists()
    assert (tmp_path / "collections" / "beta" / "index").is_dir()


def test_rescan_rescans_every_chosen_collection_and_says_so(
    folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 22: with two collections chosen, Rescan used to rescan the first alone.
    monkeypatch.setenv("GPT4ALL_RAG_WATCH_FOLDER", "false")  # the button alone, no watcher
    page = open_page()
    page.multiselect(key="collections").set_value(["alpha", "beta"]).run()
    (folders["alpha"] / "more.txt").write_text("Alpha has a second note.\n", encoding="utf-8")
    (folders["beta"] / "more.txt").write_text("Beta has a second note.\n", encoding="utf-8")

    page.button(key="rescan").click().run()

    assert not page.exception, page.exception
    assert [s.value for s in page.sidebar.success] == [
        "alpha: Index updated: 1 added (2 chunks in total).",
        "beta: Index updated: 1 added (2 chunks in total).",
    ]
    assert [s.value for s in page.sidebar.subheader] == [
        "Indexed in alpha (2)",
        "Indexed in beta (2)",
    ]
    page.button(key="rescan").click().run()
    assert [i.value for i in page.sidebar.info] == [
        "alpha: Nothing changed.",
        "beta: Nothing changed.",
    ]
