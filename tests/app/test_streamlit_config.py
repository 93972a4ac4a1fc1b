"""``.streamlit/config.toml``: options Streamlit knows, set for a page that serves this computer."""

from __future__ import annotations

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
