"""The page opens only with the launch's secret (issue 21, item 3), through ``AppTest``.

Any local user can reach 127.0.0.1; without ``?token=`` equal to the launch's
``GPT4ALL_RAG_APP_TOKEN`` the page shows one note and touches nothing: no settings,
no index, no documents folder, no model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers.app_page import APP_TOKEN, app_page
from tests.helpers.data import DOCS

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
NOTE = (
    "Open the link printed in the terminal where the app was started (`make run`): "
    "it holds this launch's secret."
)


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A documents folder that does not exist yet (the page would make it), and the fakes."""
    docs, index = tmp_path / "docs", tmp_path / "index"
    monkeypatch.setenv("GPT4ALL_RAG_DOCUMENTS_DIR", str(docs))
    monkeypatch.setenv("GPT4ALL_RAG_INDEX_DIR", str(index))
    monkeypatch.setenv("GPT4ALL_RAG_EMBEDDING_BACKEND", "hash")
    monkeypatch.setenv("GPT4ALL_RAG_LLM_BACKEND", "scripted")
    monkeypatch.delenv("GPT4ALL_RAG_MODEL_PATH", raising=False)
    return docs, index


def page_with(token: str | None) -> AppTest:
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if token is not None:
        page.query_params["token"] = token
    return page.run()


def shown(page: AppTest) -> list[str]:
    """Every element in the page's main area and sidebar, as ``type: text``."""
    elements = [e for area in (page.main, page.sidebar) for e in area if e is not area]
    return [f"{e.type}: {getattr(e, 'value', '')}" for e in elements]


def assert_only_the_note(page: AppTest, folders: tuple[Path, Path]) -> None:
    assert not page.exception, page.exception
    assert shown(page) == [f"info: {NOTE}"]
    assert not folders[0].exists() and not folders[1].exists()


@pytest.mark.parametrize(
    "token", [None, "", "wrong", APP_TOKEN[:-1], APP_TOKEN + "x", APP_TOKEN.upper()]
)
def test_without_the_secret_the_page_shows_only_a_note(
    folders: tuple[Path, Path], token: str | None
) -> None:
    assert_only_the_note(page_with(token), folders)


def test_no_secret_set_opens_nothing(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `streamlit run app.py` without the launcher: no secret, so no link can open the page.
    monkeypatch.delenv("GPT4ALL_RAG_APP_TOKEN")

    assert_only_the_note(page_with(""), folders)
    assert_only_the_note(page_with("None"), folders)


def test_the_secret_opens_the_page_and_is_remembered_for_reruns(
    folders: tuple[Path, Path],
) -> None:
    docs, index = folders
    docs.mkdir()
    (docs / "notes.md").write_bytes((DOCS / "notes.md").read_bytes())

    page = app_page(TIMEOUT).run()
    assert not page.exception, page.exception
    assert page.sidebar.subheader[0].value == "Indexed (1)"
    assert index.is_dir()

    page.query_params.clear()  # the session passed once: its reruns need no link
    page.button(key="new_chat").click().run()
    assert not page.exception, page.exception
    assert page.sidebar.subheader[0].value == "Indexed (1)"
    assert f"info: {NOTE}" not in shown(page)
