"""Tables read row-aware: CSV, XLSX (made here with openpyxl) and tables in DOCX.

Each row names its columns, rows come in captioned groups that fit one chunk, so a
question about "the value of X in row Y" finds the row with the header names in it.
"""

from __future__ import annotations

import datetime
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pytest

from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.settings import bundled_embedding_model
from gpt4all_rag.testing import HashEmbedder
from ingest.chunking import TokenChunker
from ingest.errors import DocumentLoadError
from ingest.loaders import load_file
from ingest.loaders.tables import GROUP_CHARS
from tests.helpers.data import DOCS
from vectorstore.schema import SearchMode

CITIES = ["Lyon", "Porto", "Graz", "Turku", "Brno", "Gdansk", "Malmo", "Aarhus", "Bergen"]
PRODUCTS = ["kettle", "lamp", "radio", "clock", "fan"]


def write_sales(path: Path) -> Path:
    """A workbook: 45 rows of sales on "Q1 sales", a short second sheet, an empty third."""
    book = openpyxl.Workbook()
    sales = book.active
    assert sales is not None
    sales.title = "Q1 sales"
    sales.append(["Store", "Product", "Units", "Revenue", "Opened"])
    for n in range(45):
        city, product = CITIES[n % len(CITIES)], PRODUCTS[n // len(CITIES)]
        opened = datetime.datetime(2020, 1 + n % 12, 1 + n % 28)
        sales.append([city, product, 10 + n, 12.5 * (n + 1), opened])
    notes = book.create_sheet("Notes")
    notes.append(["Topic", "Note"])
    notes.append(["Currency", "All revenue is in euros."])
    book.create_sheet("Empty")
    book.save(path)
    return path


def write_report(path: Path) -> Path:
    """A Word document with a paragraph, a five-row table and a paragraph after it."""
    document = docx.Document()
    document.add_paragraph("Station inventory for the winter season.")
    table = document.add_table(rows=1, cols=3)
    for cell, name in zip(table.rows[0].cells, ["Hut", "Altitude", "Sensors"], strict=True):
        cell.text = name
    huts = [("Chata Zbojnicka", "1960 m", "4"), ("Teryho chata", "2015 m", "6")]
    huts += [("Rainerova chata", "1301 m", "2"), ("Chata pod Rysmi", "2250 m", "5")]
    for hut in huts:
        for cell, value in zip(table.add_row().cells, hut, strict=True):
            cell.text = value
    document.add_paragraph("Sensors are checked every spring.")
    document.save(str(path))
    return path


def test_xlsx_has_one_page_per_sheet_with_named_rows(tmp_path: Path) -> None:
    pages = load_file(write_sales(tmp_path / "sales.xlsx"))

    assert [page.page for page in pages] == [1, 2]  # the empty sheet has no text
    lines = pages[0].text.splitlines()
    assert lines[0].startswith("sales.xlsx, sheet Q1 sales, rows 2-")
    assert (
        "Row 15: Store: Brno; Product: lamp; Units: 23; Revenue: 175; Opened: 2020-02-14" in lines
    )
    assert pages[1].text == (
        "sales.xlsx, sheet Notes, row 2\nRow 2: Topic: Currency; Note: All revenue is in euros."
    )


def test_xlsx_row_groups_are_captioned_and_fit_a_group(tmp_path: Path) -> None:
    text = load_file(write_sales(tmp_path / "sales.xlsx"))[0].text
    groups = text.split("\n\n")

    rows_seen = []
    for group in groups:
        caption, *rows = group.splitlines()
        match = re.fullmatch(r"sales.xlsx, sheet Q1 sales, rows (\d+)-(\d+)", caption)
        assert match is not None, caption
        first, last = int(match[1]), int(match[2])
        numbers = [int(row.split(":")[0].removeprefix("Row ")) for row in rows]
        assert numbers == list(range(first, last + 1))
        assert len("\n".join(rows)) <= GROUP_CHARS
        rows_seen += rows
    assert len(groups) > 3
    assert len(rows_seen) == 45
    assert all(row.count(": ") == 6 for row in rows_seen)  # "Row n" and the five columns


def test_a_chunk_holds_whole_row_groups(tmp_path: Path) -> None:
    pages = load_file(write_sales(tmp_path / "sales.xlsx"))
    chunker = TokenChunker(bundled_embedding_model() / "tokenizer.json", 200, 32)

    chunks = [chunk for chunk in chunker.split(pages) if chunk.page == 1]

    groups = pages[0].text.split("\n\n")
    assert [g for chunk in chunks for g in chunk.text.strip().split("\n\n")] == groups


@pytest.mark.parametrize(
    "mode",
    ["keyword", pytest.param("hybrid", marks=pytest.mark.slow)],  # hybrid: real MiniLM
)
def test_a_question_about_a_row_finds_its_group(
    mode: SearchMode, tmp_path: Path, make_assistant: Callable[..., DocumentAssistant]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_sales(folder / "sales.xlsx")
    write_report(folder / "huts.docx")
    assistant = make_assistant(folder, embedder=HashEmbedder() if mode == "keyword" else None)

    report = assistant.ingest()
    sales = assistant.search("What is the Revenue of the lamp in Brno?", k=1, mode=mode)
    hut = assistant.search("What is the Altitude of Teryho chata?", k=1, mode=mode)

    assert (sorted(report.added), report.failed) == (["huts.docx", "sales.xlsx"], [])
    assert [(hit.file, hit.page) for hit in sales] == [("sales.xlsx", 1)]
    assert "Row 15: Store: Brno; Product: lamp; Units: 23; Revenue: 175;" in sales[0].text
    assert [hit.file for hit in hut] == ["huts.docx"]
    assert "Row 3: Hut: Teryho chata; Altitude: 2015 m; Sensors: 6" in hut[0].text


def test_docx_table_rows_name_their_columns_in_document_order(tmp_path: Path) -> None:
    text = load_file(write_report(tmp_path / "huts.docx"))[0].text

    assert text == (
        "Station inventory for the winter season.\n\n"
        "huts.docx, table 1, rows 2-5\n"
        "Row 2: Hut: Chata Zbojnicka; Altitude: 1960 m; Sensors: 4\n"
        "Row 3: Hut: Teryho chata; Altitude: 2015 m; Sensors: 6\n"
        "Row 4: Hut: Rainerova chata; Altitude: 1301 m; Sensors: 2\n"
        "Row 5: Hut: Chata pod Rysmi; Altitude: 2250 m; Sensors: 5\n\n"
        "Sensors are checked every spring."
    )


def test_docx_one_column_table_stays_plain_lines(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=1)
    table.rows[0].cells[0].text = "A boxed note"
    table.rows[1].cells[0].text = "that is laid out as a table"
    document.save(str(tmp_path / "box.docx"))

    assert load_file(tmp_path / "box.docx")[0].text == "A boxed note\nthat is laid out as a table"


def test_csv_long_table_is_grouped_and_numbered_like_a_spreadsheet(tmp_path: Path) -> None:
    rows = "\n".join(f"item {n},{n * 3},note with, a comma" for n in range(100))
    path = tmp_path / "items.csv"
    path.write_text(f"name,count,remark\n{rows}\n")  # "a comma" is a fourth column

    groups = load_file(path)[0].text.split("\n\n")

    assert groups[0].splitlines()[:2] == [
        groups[0].splitlines()[0],
        "Row 2: name: item 0; count: 0; remark: note with; column 4: a comma",
    ]
    assert re.fullmatch(r"items.csv, rows 2-\d+", groups[0].splitlines()[0])
    assert groups[-1].splitlines()[-1] == (
        "Row 101: name: item 99; count: 297; remark: note with; column 4: a comma"
    )
    assert len(groups) > 5


def test_header_only_table_says_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("name,count\n")

    assert load_file(path)[0].text == "empty.csv, columns: name; count"


def test_xlsx_that_is_not_a_workbook_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    shutil.copy(DOCS / "notes.md", path)

    with pytest.raises(DocumentLoadError) as caught:
        load_file(path)

    assert caught.value.reason.startswith("not a valid XLSX: ")
