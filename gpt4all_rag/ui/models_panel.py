"""The language model on the page: the picker, "Get a better model", what is active.

The page never touches the network on its own: GPT4All's catalogue is fetched only
after its button, and a model only after its Download button.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.errors import USER_ERRORS
from gpt4all_rag.markdown import code_span, escape_text
from gpt4all_rag.models.catalogue import CatalogueEntry, fetch_catalogue, machine_ram_bytes
from gpt4all_rag.models.discovery import discover_models
from gpt4all_rag.models.network import NetworkPolicy
from gpt4all_rag.models.pull import pull_model
from gpt4all_rag.settings import Settings
from gpt4all_rag.ui.render import catalogue_markdown, download_text, model_caption, model_label
from gpt4all_rag.ui.state import notify

__all__ = [
    "better_model_panel",
    "catalogue_choice",
    "load_catalogue",
    "model_captions",
    "model_network_policy",
    "model_picker",
    "model_problem",
    "pull_with_progress",
]


def model_picker(base: Settings) -> Path:
    """A model from the list, or the path typed under it."""
    described = {model.path: model for model in discover_models(base)}
    options = list(dict.fromkeys([base.resolved_model_path(), *described]))
    labels = {path: model_label(path, described) for path in options}
    labels[options[0]] += " (configured)"
    chosen = st.selectbox("Model", options, format_func=labels.__getitem__, key="model_choice")
    if chosen in described:  # the sidebar cuts long labels: the chosen one in full
        st.caption(model_caption(described[chosen]))
    typed = st.text_input(
        "…or the path of a GGUF file", key="model_typed", placeholder="/path/to/model.gguf"
    ).strip()
    return Path(typed).expanduser() if typed else chosen


def model_problem(settings: Settings) -> str | None:
    """Why the configured GGUF file cannot be used, checked without loading it."""
    if settings.llm_backend != "llama-cpp":
        return None
    path = settings.resolved_model_path()
    if path.is_file():
        return None
    return (
        f"Model file not found: {code_span(str(path))}. Choose another model under **Settings** "
        "in the sidebar, or set `GPT4ALL_RAG_MODEL_PATH` to a `.gguf` file."
    )


def model_captions(assistant: DocumentAssistant) -> None:
    """Which language and embedding models are active."""
    st.sidebar.caption(
        f"Model: {code_span(assistant.model_name)}  \n"
        f"Embeddings: {code_span(assistant.status().embedding_model)}"
    )


def better_model_panel(base: Settings) -> None:
    """'Get a better model': GPT4All's catalogue, fetched only when the user presses the button.

    The page never touches the network on its own: the list comes from the catalogue
    URL only after the button, and a model only after its Download button.
    """
    if base.llm_backend != "llama-cpp":
        return
    with st.sidebar.expander("Get a better model"):
        st.caption(
            "Larger models answer better than the small bundled one. The list comes from "
            f"GPT4All's catalogue, {code_span(base.model_catalogue_url)}: nothing is fetched "
            "until you ask, and nothing about your documents is sent."
        )
        if st.button("Fetch the list of models", key="fetch_catalogue"):
            load_catalogue(base)
        if st.session_state.get("catalogue"):
            catalogue_choice(base, st.session_state.catalogue)


def load_catalogue(base: Settings) -> None:
    """Fetch the catalogue into the session: chat models only (no embedding or hidden ones)."""
    try:
        entries = fetch_catalogue(base.model_catalogue_url, policy=model_network_policy())
    except USER_ERRORS as exc:
        st.error(escape_text(str(exc)))
        return
    st.session_state.catalogue = [e for e in entries if not (e.embedding or e.hidden)]


def model_network_policy() -> NetworkPolicy | None:
    """Where the catalogue and downloads may connect; None: public https only.

    A test puts a policy in the session to reach its server on 127.0.0.1. Only Python
    code can: no widget has this key, and a browser cannot send an object.
    """
    policy = st.session_state.get("model_network_policy")
    return policy if isinstance(policy, NetworkPolicy) else None


def catalogue_choice(base: Settings, entries: Sequence[CatalogueEntry]) -> None:
    """The catalogue (scrolled), a model to choose and its Download button."""
    with st.container(height=320):  # two dozen models: scrolled, not a sidebar a metre long
        st.markdown(catalogue_markdown(entries, machine_ram_bytes()))
    names = [entry.name for entry in entries]
    name = st.selectbox("Model to download", names, key="catalogue_choice")
    entry = entries[names.index(name)] if name in names else entries[0]
    installed = (base.models_dir / entry.filename).is_file()
    unverified = entry.checksum is None and not installed
    if unverified:
        st.warning(
            f"The catalogue gives no checksum for {escape_text(entry.name)}: its download "
            "cannot be verified, so a changed or damaged file would not be noticed."
        )
    allowed = unverified and st.checkbox("Install it without a check", key="allow_unverified")
    if st.button(
        "Installed" if installed else "Download",
        key="pull_model",
        disabled=installed or (unverified and not allowed),
    ):
        pull_with_progress(base, entry, allow_unverified=allowed)


def pull_with_progress(
    base: Settings, entry: CatalogueEntry, allow_unverified: bool = False
) -> None:
    """Download a model with a progress bar (size, rate, time left), then list it in the picker.

    ``allow_unverified``: the person ticked the box to install a model with no checksum.
    """
    bar = st.progress(0.0, text=f"Downloading {escape_text(entry.name)}…")
    state = {"started": time.monotonic(), "shown": 0.0, "first": -1}

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        if state["first"] < 0:
            state["first"] = done  # what an earlier, interrupted download left
        if now - state["shown"] < 0.25 and done < total:
            return
        state["shown"] = now
        text = download_text(done, total, done - int(state["first"]), now - state["started"])
        bar.progress(min(done / total, 1.0) if total else 0.0, text=text)

    try:
        result = pull_model(
            entry,
            base.models_dir,
            progress=update,
            allow_unverified=allow_unverified,
            policy=model_network_policy(),
        )
    except USER_ERRORS as exc:
        bar.empty()
        st.error(escape_text(str(exc)))
        return
    notify(
        "success",
        f"Downloaded {escape_text(entry.name)} to {code_span(str(result.path))}. Choose it "
        "under **Settings**, **Model**.",
    )
    st.rerun()
