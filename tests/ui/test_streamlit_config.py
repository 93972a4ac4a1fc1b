"""``.streamlit/config.toml``: options Streamlit knows, set for a page that serves this computer."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from streamlit import config as streamlit_config

from gpt4all_rag import Settings

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def options() -> dict[str, object]:
    """The file's options as Streamlit names them (``server.allowedHosts``)."""
    parsed = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    return {
        f"{section}.{key}": value for section, keys in parsed.items() for key, value in keys.items()
    }


def test_every_option_is_one_streamlit_knows() -> None:
    # A misspelt option is silently ignored by Streamlit: the protection would be off.
    known = set(streamlit_config.get_config_options())

    assert sorted(set(options()) - known) == []


def test_the_page_serves_loopback_names_only() -> None:
    # Issue 10, item 4: against DNS rebinding, the app's WebSocket refuses other Host names.
    assert options()["server.address"] == "127.0.0.1"
    assert options()["server.allowedHosts"] == ["localhost", "127.0.0.1"]
    assert options()["browser.gatherUsageStats"] is False


def test_the_upload_limit_is_the_index_file_limit() -> None:
    # Issue 10, item 11: a larger upload would be saved, then skipped by every sync.
    assert options()["server.maxUploadSize"] == Settings.model_fields["max_file_mb"].default == 256


def test_streamlit_watches_no_files() -> None:
    # Issue 22: the default watcher follows every imported module, .venv included.
    assert options()["server.fileWatcherType"] == "none"


def test_make_run_starts_the_app_through_the_launcher() -> None:
    # Issue 21, items 3 and 7: `streamlit run app.py` has no secret, no Host check on
    # /media and /_stcore, no anti-framing headers, and looks up checkip.amazonaws.com
    # for a WebSocket from another origin.
    makefile = (CONFIG.parents[1] / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^app:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)

    assert recipe is not None
    assert recipe.group(1) == "\t$(BIN)/python -m gpt4all_rag.ui.launch --port $(PORT)\n"
