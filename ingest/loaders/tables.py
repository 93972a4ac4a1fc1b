"""Tables (CSV, TSV, XLSX, and tables inside DOCX) as groups of rows that name their columns.

A question like "what is the revenue of Lyon in 2024?" needs the row and the column
names in the same passage. So each data row becomes one line that names every value,
``Row 7: city: Lyon; year: 2024; revenue: 1200``, and rows are grouped under a caption
(``sales.xlsx, sheet Q1, rows 2-8``) in blocks of about ``GROUP_CHARS`` characters
separated by blank lines. The chunker splits at blank lines before anything else,
so a chunk holds whole groups, and a group fits a default chunk (200 MiniLM tokens).
Row numbers are the spreadsheet's own (the header is row 1), so "row 7" means the
row a person sees as 7.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.loaders.archive import check_zip
from ingest.loaders.base import Page, PageBudget
from ingest.loaders.text import BINARY_SNIFF_BYTES, decode_text

if TYPE_CHECKING:
    from docx.table import Table as DocxTable

__all__ = [
    "GROUP_CHARS",
    "docx_table_text",
    "load_csv",
    "load_tsv",
    "load_xlsx",
    "row_groups",
    "row_line",
    "table_text",
]

# About 170 MiniLM tokens of tabular text (numbers and names cut into many pieces):
# under the default 200-token chunk, so a group is not cut and keeps its caption.
GROUP_CHARS = 500
_CSV_DELIMITERS = ",;\t|"

Row = tuple[int, Sequence[str]]


def load_csv(path: Path) -> list[Page]:
    """Load a CSV file (delimiter sniffed; first row the header) as groups of named rows."""
    text = decode_text(path.read_bytes(), path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:BINARY_SNIFF_BYTES], delimiters=_CSV_DELIMITERS
        )
    except csv.Error:
        dialect = csv.excel
    return [Page(_delimited(path, text, dialect), None)]


def load_tsv(path: Path) -> list[Page]:
    """Load a tab-separated file (first row the header) as groups of named rows."""
    text = decode_text(path.read_bytes(), path)
    return [Page(_delimited(path, text, csv.excel_tab), None)]


def _delimited(path: Path, text: str, dialect: type[csv.Dialect] | csv.Dialect) -> str:
    rows = enumerate(csv.reader(io.StringIO(text), dialect), start=1)
    return table_text(path.name, rows, PageBudget(path))


def load_xlsx(path: Path) -> list[Page]:
    """Load an Excel workbook: one page per sheet (numbered from 1), groups of named rows.

    Cells are read as last saved by Excel (``data_only``: a formula's cached value), in
    read-only mode, which streams the sheet instead of building it in memory.
    """
    import openpyxl  # openpyxl: for the first workbook only

    check_zip(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    budget = PageBudget(path)
    try:
        pages = []
        for number, sheet in enumerate(workbook.worksheets, start=1):
            if hasattr(sheet, "reset_dimensions"):  # a saved size may be wrong, even huge
                sheet.reset_dimensions()
            rows = enumerate(sheet.iter_rows(values_only=True), start=1)
            cells = ((n, [_cell_text(v) for v in values]) for n, values in rows)
            text = table_text(f"{path.name}, sheet {sheet.title}", cells, budget)
            budget.add("")  # a sheet is a page for the page limit
            pages.append(Page(text, number))
        return pages
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    """A cell as Excel shows it, more or less: 3 not 3.0, a date without midnight."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def table_text(caption: str, rows: Iterable[Row], budget: PageBudget) -> str:
    """A whole table as its row groups, separated by blank lines (see ``row_groups``)."""
    return "\n\n".join(row_groups(caption, iter(rows), budget))


def row_groups(caption: str, rows: Iterator[Row], budget: PageBudget) -> Iterator[str]:
    """Yield the table's data rows in groups of about ``GROUP_CHARS``, each under a caption.

    The first row with a value is the header; cells under a blank header (or past the
    header's end) are named ``column N``. Empty cells and empty rows are left out.
    Every line is counted in ``budget``: repeating the header on each row can make a
    small file large.

    Args:
        caption: what the table is ("cities.csv", "report.docx, table 2").
        rows: (row number, cells) in order, the header first.
        budget: the file's character budget.
    """
    header = _header(rows)
    if header is None:
        return
    group: list[str] = []
    first = last = size = 0
    for number, cells in rows:
        line = row_line(number, header, cells)
        if not line:
            continue
        budget.add_text(line)
        if group and size + len(line) > GROUP_CHARS:
            yield _group_text(caption, first, last, group)
            group, size = [], 0
        first = number if not group else first
        group.append(line)
        last, size = number, size + len(line) + 1
    if group:
        yield _group_text(caption, first, last, group)
    elif any(header):  # a header and no data: still say what the table holds
        yield f"{caption}, columns: " + "; ".join(name for name in header if name)


def _header(rows: Iterator[Row]) -> list[str] | None:
    """The first row with any text, as column names; None for a table without one."""
    for _number, cells in rows:
        names = [" ".join(cell.split()) for cell in cells]
        if any(names):
            return names
    return None


def row_line(number: int, header: Sequence[str], cells: Sequence[str]) -> str:
    """``Row 7: a: 1; b: 2``: one row that names each value ("" for an empty row).

    A value repeated under the same name (a merged Word cell spans grid columns) is
    kept once.
    """
    pairs: list[str] = []
    for index, cell in enumerate(cells):
        value = " ".join(cell.split())
        if not value:
            continue
        name = (header[index] if index < len(header) else "") or f"column {index + 1}"
        pair = f"{name}: {value}"
        if not pairs or pairs[-1] != pair:
            pairs.append(pair)
    return f"Row {number}: " + "; ".join(pairs) if pairs else ""


def _group_text(caption: str, first: int, last: int, lines: list[str]) -> str:
    rows = f"row {first}" if first == last else f"rows {first}-{last}"
    return f"{caption}, {rows}\n" + "\n".join(lines)


def docx_table_text(table: DocxTable, caption: str, budget: PageBudget) -> str:
    """A Word table as row groups; a one-row or one-column table (layout) as plain lines."""
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    if len(rows) < 2 or max(len(row) for row in rows) < 2:
        return "\n".join(" | ".join(row) for row in rows)
    return table_text(caption, enumerate(rows, start=1), budget)
