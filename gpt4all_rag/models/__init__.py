"""GGUF models: find the ones on this machine (GPT4All's included) and pull new ones.

- :mod:`~gpt4all_rag.models.discovery`: the models folder, the bundled SmolLM2 and
  GPT4All's folders, each file with its size and the chat format it will get;
- :mod:`~gpt4all_rag.models.catalogue`: GPT4All's ``models3.json`` catalogue and
  this machine's memory;
- :mod:`~gpt4all_rag.models.pull`: a resumable, checksum-checked download;
- :mod:`~gpt4all_rag.models.network`: where those may connect (https, public
  addresses, checked at every redirect);
- :mod:`~gpt4all_rag.models.gguf_metadata`: a GGUF header reader that loads no model.

Only the catalogue fetch and the pull use the network, and only when asked.
"""

from __future__ import annotations

from gpt4all_rag.models.catalogue import (
    DEFAULT_CATALOGUE_URL,
    CatalogueEntry,
    fetch_catalogue,
    find_entry,
    format_size,
    machine_ram_bytes,
    parse_catalogue,
)
from gpt4all_rag.models.discovery import (
    ModelFile,
    ModelFolder,
    Platform,
    bundled_model,
    describe_model,
    discover_models,
    gpt4all_model_folders,
    gpt4all_settings_files,
    model_folders,
    read_gpt4all_model_path,
)
from gpt4all_rag.models.errors import (
    CatalogueError,
    ChecksumMismatch,
    ModelDownloadError,
    RefusedSource,
    UnknownModel,
    UnverifiedModel,
)
from gpt4all_rag.models.gguf_metadata import GGUFHeaderError, read_gguf_metadata
from gpt4all_rag.models.network import NetworkPolicy
from gpt4all_rag.models.pull import PullProgress, PullResult, part_path, pull_model

__all__ = [
    "DEFAULT_CATALOGUE_URL",
    "CatalogueEntry",
    "CatalogueError",
    "ChecksumMismatch",
    "GGUFHeaderError",
    "ModelDownloadError",
    "ModelFile",
    "ModelFolder",
    "NetworkPolicy",
    "Platform",
    "PullProgress",
    "PullResult",
    "RefusedSource",
    "UnknownModel",
    "UnverifiedModel",
    "bundled_model",
    "describe_model",
    "discover_models",
    "fetch_catalogue",
    "find_entry",
    "format_size",
    "gpt4all_model_folders",
    "gpt4all_settings_files",
    "machine_ram_bytes",
    "model_folders",
    "parse_catalogue",
    "part_path",
    "pull_model",
    "read_gguf_metadata",
    "read_gpt4all_model_path",
]
