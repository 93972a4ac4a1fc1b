"""Discovery over fake home folders laid out like GPT4All's on Linux, macOS and Windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt4all_rag.models.discovery import (
    ModelFile,
    Platform,
    bundled_model,
    discover_models,
    gpt4all_model_folders,
    gpt4all_settings_files,
    read_gpt4all_model_path,
)
from gpt4all_rag.settings import Settings
from tests.helpers.model_files import write_gguf

LINUX_DATA = Path(".local/share/nomic.ai/GPT4All")


def linux(home: Path, **environ: str) -> Platform:
    return Platform(home, "Linux", environ)


def found(models: list[ModelFile], root: Path) -> list[tuple[str, str, str, str | None]]:
    """(path under root, source, chat format label, problem) of the models under root."""
    return [
        (str(m.path.relative_to(root)), m.source, m.chat_format_label, m.problem)
        for m in models
        if m.path.is_relative_to(root)
    ]


@pytest.mark.parametrize(
    ("system", "environ", "data", "ini"),
    [
        ("Linux", {}, ".local/share/nomic.ai/GPT4All", [".config/nomic.ai/GPT4All.ini"]),
        (
            "Linux",
            {"XDG_DATA_HOME": "{home}/xdata", "XDG_CONFIG_HOME": "{home}/xconf"},
            "xdata/nomic.ai/GPT4All",
            ["xconf/nomic.ai/GPT4All.ini"],
        ),
        (
            "Darwin",
            {},
            "Library/Application Support/nomic.ai/GPT4All",
            [".config/gpt4all.io/GPT4All.ini", ".config/nomic.ai/GPT4All.ini"],
        ),
        (
            "Windows",
            {"LOCALAPPDATA": "{home}/AppData/Local", "APPDATA": "{home}/AppData/Roaming"},
            "AppData/Local/nomic.ai/GPT4All",
            ["AppData/Roaming/nomic.ai/GPT4All.ini"],
        ),
    ],
)
def test_gpt4all_folders_follow_each_os(
    tmp_path: Path, system: str, environ: dict[str, str], data: str, ini: list[str]
) -> None:
    where = Platform(tmp_path, system, {k: v.format(home=tmp_path) for k, v in environ.items()})

    assert gpt4all_model_folders(where) == [tmp_path / data, tmp_path / ".cache/gpt4all"]
    assert gpt4all_settings_files(where) == [tmp_path / path for path in ini]


def test_models_in_gpt4all_folders_are_found_with_their_chat_format(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = home / LINUX_DATA
    write_gguf(data / "Meta-Llama-3-8B-Instruct.Q4_0.gguf", name="Meta Llama 3 8B Instruct")
    write_gguf(data / "qwen2-1_5b-instruct-q4_0.gguf", architecture="qwen2", template="{{ x }}")
    write_gguf(data / "orca-mini-3b-gguf2-q4_0.gguf", name="orca mini")
    write_gguf(data / "incomplete-mistral-7b-instruct-v0.1.Q4_0.gguf")  # GPT4All, downloading
    write_gguf(data / "nomic-embed-text-v1.5.f16.gguf", architecture="nomic-bert")  # LocalDocs
    (data / "localdocs_v2.db").write_bytes(b"SQLite format 3\x00")
    (data / "broken.gguf").write_bytes(b"not a model at all, just text" * 4)
    write_gguf(home / ".cache/gpt4all/mistral-7b-openorca.gguf2.Q4_0.gguf", name="Mistral")

    models = discover_models(Settings(models_dir=tmp_path / "ours"), linux(home))

    assert found(models, home) == [
        (f"{LINUX_DATA}/Meta-Llama-3-8B-Instruct.Q4_0.gguf", "GPT4All", "llama-3 (by family)",
         None),
        (f"{LINUX_DATA}/broken.gguf", "GPT4All", "unknown", "not a GGUF file"),
        (f"{LINUX_DATA}/orca-mini-3b-gguf2-q4_0.gguf", "GPT4All", "chatml (by family)", None),
        (f"{LINUX_DATA}/qwen2-1_5b-instruct-q4_0.gguf", "GPT4All", "template in the GGUF", None),
        (".cache/gpt4all/mistral-7b-openorca.gguf2.Q4_0.gguf", "GPT4All",
         "mistral-instruct (by family)", None),
    ]  # fmt: skip
    llama = models[[m.path.name for m in models].index("Meta-Llama-3-8B-Instruct.Q4_0.gguf")]
    assert (llama.name, llama.architecture, llama.size) == (
        "Meta Llama 3 8B Instruct",
        "llama",
        llama.path.stat().st_size,
    )


def test_the_folder_named_in_gpt4all_ini_is_searched(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "big disk" / "llms"
    write_gguf(elsewhere / "Phi-3-mini-4k-instruct.Q4_0.gguf", architecture="phi3")
    ini = home / ".config/nomic.ai/GPT4All.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(
        "[General]\nchatTheme=Dark\nmodelPath=" + elsewhere.as_posix() + "/\n"
        "[model-Phi-3]\nmodelPath=/not/this/one\n"
    )

    models = discover_models(Settings(models_dir=tmp_path / "ours"), linux(home))

    assert found(models, tmp_path) == [
        ("big disk/llms/Phi-3-mini-4k-instruct.Q4_0.gguf", "GPT4All", "phi-3 (by family)", None)
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("modelPath=/home/me/models/", "/home/me/models"),
        ('modelPath="/home/me/my, models/"', "/home/me/my, models"),
        ("modelPath=C:/Users/me/LLMs/", "C:/Users/me/LLMs"),
        ("modelPath=/home/me/mod\\xe8les/", "/home/me/modèles"),
        ("modelPaths=/old/key/", "/old/key"),  # the key before GPT4All 2.4.11
        ("modelPath=file:///home/me/models/", "/home/me/models"),
    ],
)
def test_qsettings_values_are_unquoted(tmp_path: Path, line: str, expected: str) -> None:
    ini = tmp_path / "GPT4All.ini"
    ini.write_text(f"[General]\n{line}\n")

    assert read_gpt4all_model_path(ini) == Path(expected)


def test_no_settings_file_or_key_means_no_folder(tmp_path: Path) -> None:
    ini = tmp_path / "GPT4All.ini"
    assert read_gpt4all_model_path(ini) is None
    ini.write_text("[General]\nfontSize=Small\n")
    assert read_gpt4all_model_path(ini) is None


def test_ours_come_first_then_gpt4all_and_a_file_found_twice_is_listed_once(
    tmp_path: Path,
) -> None:
    home, ours = tmp_path / "home", tmp_path / "home" / LINUX_DATA  # our folder IS GPT4All's
    write_gguf(ours / "a.gguf", template="{{ x }}")
    write_gguf(ours / "sub" / "b.gguf", template="{{ x }}")
    write_gguf(tmp_path / "configured.gguf", template="{{ x }}")
    settings = Settings(models_dir=ours, model_path=tmp_path / "configured.gguf")

    models = discover_models(settings, linux(home))

    assert [(m.path.name, m.source) for m in models] == [
        ("configured.gguf", "configured"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "bundled"),
        ("a.gguf", "models folder"),
        ("b.gguf", "models folder"),
    ]
    assert models[1].path == bundled_model()
    assert models[1].chat_format_label == "template in the GGUF"


def test_an_explicit_chat_format_setting_wins(tmp_path: Path) -> None:
    write_gguf(tmp_path / "ours" / "a.gguf", template="{{ x }}")
    settings = Settings(models_dir=tmp_path / "ours", chat_format="llama-2")

    models = discover_models(settings, linux(tmp_path / "home"))

    assert [(m.chat_format, m.chat_format_origin, m.chat_format_label) for m in models] == [
        ("llama-2", "settings", "llama-2"),  # the bundled model
        ("llama-2", "settings", "llama-2"),
    ]


def test_a_missing_models_folder_is_not_an_error(tmp_path: Path) -> None:
    models = discover_models(Settings(models_dir=tmp_path / "none"), linux(tmp_path / "nohome"))

    assert [m.source for m in models] == ["bundled"]
    assert models[0].to_json() == {
        "path": str(bundled_model()),
        "size": 98362432,
        "source": "bundled",
        "name": "Smollm2 135M 8k Lc100K Mix1 Ep2",
        "architecture": "llama",
        "chat_format": None,
        "chat_format_origin": "gguf",
        "problem": None,
    }
