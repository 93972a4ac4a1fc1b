"""GPT4All's models3.json: the real format, unsafe entries left out, names found, RAM compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gpt4all_rag.models.catalogue import (
    CatalogueEntry,
    find_entry,
    format_size,
    machine_ram_bytes,
    parse_catalogue,
)
from gpt4all_rag.models.errors import CatalogueError, UnknownModel

REAL = Path(__file__).parent / "data" / "models3.json"
DEEPSEEK_SHA256 = "b3af887d0a015b39fab2395e4faf682c1a81a6a3fd09a43f0d4292f7d94bf4d0"
GB = 1024**3


def test_the_real_catalogue_format_is_read() -> None:
    entries = parse_catalogue(REAL.read_bytes())

    assert [(e.name, e.filesize, e.ram_gb, e.checksum, e.embedding, e.hidden) for e in entries] == [
        ("Llama 3 8B Instruct", 4661724384, 8, ("md5", "c87ad09e1e4c8f9c35a5fcef52b6f1c9"),
         False, False),
        ("DeepSeek-R1-Distill-Qwen-1.5B", 1068807776, 3, ("sha256", DEEPSEEK_SHA256),
         False, False),
        ("Llama 3.2 1B Instruct", 773025920, 2, ("md5", "48ff0243978606fdba19d899b77802fc"),
         False, False),
        ("MPT Chat", 3912373472, 8, ("md5", "15dcb4d7ea6de322756449c11a0b7545"), False, True),
        ("Starcoder", 8987411904, 4, ("md5", "70841751ccd95526d3dcfa829e11cd4c"), False, True),
        ("Nomic Embed Text v1.5", 274290560, 1, ("md5", "a5401e7f7e46ed9fcaed5b60a281d547"),
         True, True),
    ]  # fmt: skip
    llama = entries[0]
    assert llama.url == "https://gpt4all.io/models/gguf/Meta-Llama-3-8B-Instruct.Q4_0.gguf"
    assert (llama.filename, llama.parameters, llama.quant, llama.family) == (
        "Meta-Llama-3-8B-Instruct.Q4_0.gguf",
        "8 billion",
        "q4_0",
        "LLaMA3",
    )


def item(filename: str, **extra: Any) -> dict[str, Any]:
    return {"name": filename, "filename": filename, "filesize": "10", "ramrequired": "1",
            "md5sum": "0" * 32, "url": f"https://example.org/{filename}", **extra}  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        item("../../.bashrc.gguf"),
        item("sub/dir.gguf"),
        item("C:\\evil.gguf"),
        item("model.bin"),
        item(".hidden.gguf"),
        item("ok.gguf", url="file:///etc/passwd"),
        item("ok.gguf", md5sum="not-hex!"),
        item("evil.gguf\n"),  # "$" matched before a trailing newline
        item("evil.gguf\n.sh"),
        item("a\nb.gguf"),
        item("CON.gguf"),  # a device on Windows, not a file
        item("lpt1.q4_0.gguf"),
        item("a" * 250 + ".gguf"),
        item("ok.gguf", md5sum="0" * 31),  # not an MD5
        item("ok.gguf", md5sum="", sha256sum="ab" * 31),  # not a SHA-256
        item("ok.gguf", md5sum="0" * 32 + "\n" + "0" * 32),
    ],
)
def test_entries_that_would_write_or_read_elsewhere_are_left_out(bad: dict[str, Any]) -> None:
    assert parse_catalogue(json.dumps([bad, item("good.gguf")])) == [
        CatalogueEntry("good.gguf", "good.gguf", "https://example.org/good.gguf", 10, 1, "0" * 32)
    ]


def test_an_entry_without_url_downloads_from_gpt4all_like_gpt4all_does() -> None:
    (entry,) = parse_catalogue(json.dumps([item("old.gguf", url="")]))

    assert entry.url == "https://gpt4all.io/models/gguf/old.gguf"


@pytest.mark.parametrize("document", ["{not json", '{"models": []}', "[1, 2]", b"\xff\xfe"])
def test_a_document_that_is_not_a_catalogue_is_an_error(document: str | bytes) -> None:
    with pytest.raises(CatalogueError, match="not"):
        parse_catalogue(document)


def test_names_are_found_by_name_or_file_name_in_any_case() -> None:
    entries = parse_catalogue(REAL.read_bytes())

    assert find_entry(entries, "llama 3.2 1b INSTRUCT").filename == (
        "Llama-3.2-1B-Instruct-Q4_0.gguf"
    )
    assert find_entry(entries, "Meta-Llama-3-8B-Instruct.Q4_0.gguf").name == "Llama 3 8B Instruct"


def test_an_unknown_name_suggests_close_ones() -> None:
    entries = parse_catalogue(REAL.read_bytes())

    with pytest.raises(UnknownModel) as caught:
        find_entry(entries, "llama 3 1b instruct")

    assert caught.value.suggestions == ["Llama 3.2 1B Instruct", "Llama 3 8B Instruct"]
    assert str(caught.value).startswith(
        "no model named 'llama 3 1b instruct' in the catalogue; did you mean: "
        "Llama 3.2 1B Instruct, Llama 3 8B Instruct"
    )


def test_ram_needed_is_compared_with_the_machine() -> None:
    entry = parse_catalogue(json.dumps([item("a.gguf", ramrequired="8")]))[0]

    assert [entry.fits(7 * GB), entry.fits(8 * GB), entry.fits(None)] == [False, True, None]
    assert entry.to_json(16 * GB)["fits_in_ram"] is True
    ram = machine_ram_bytes()
    assert ram is not None and ram > 256 * 1024**2  # Linux answers through sysconf


def test_sizes_read_like_a_file_manager() -> None:
    assert [format_size(n) for n in (512, 98_362_432, 773_025_920, 4_661_724_384)] == [
        "512 B",
        "98 MB",
        "773 MB",
        "4.7 GB",
    ]


def test_a_repeated_name_finds_the_shown_entry_not_the_removed_one() -> None:
    removed = item("mpt-old.gguf", name="MPT Chat", removedIn="2.7.3")
    current = item("mpt-new.gguf", name="MPT Chat")

    assert find_entry(parse_catalogue(json.dumps([removed, current])), "mpt chat").filename == (
        "mpt-new.gguf"
    )
