"""Reading an uploaded spreadsheet (CSV or XLSX) as a header and a stream of rows.

What people upload in practice: CSV from Excel or WPS in UTF-8 (with or without BOM) or in
GBK/GB18030, separated by commas, semicolons or tabs; or an .xlsx workbook. The kind is decided
by the file's content, not its name. Rows are streamed so a large file never sits in memory.

Every refusal is a `FileProblem` with a translated message naming what is wrong and a `code`:
missing, too_large, empty, no_rows, encoding, xls, not_xlsx, unsupported, unreadable, sheet,
header, csv, row_too_large, cell_too_large, too_many_cells, too_many_rows.

Memory stays bounded whatever the input: a CSV is split into physical lines by this module, and
a record (a row, with the lines a quoted cell spans) longer than a limit is refused as soon as
the limit is passed, before it is decoded or split into cells. An XLSX is parsed by `xlsx`, which
enforces the same limits (and Excel's 32,767 characters a cell) while it parses. A file with more
rows than BATON_IMPORT_MAX_ROWS is refused at the first row past it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import os
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from baton.core.cells import looks_like_formula as looks_like_formula
from baton.core.cells import unescape_cell as unescape_cell
from baton.imports import xlsx
from baton.imports.problems import FileProblem as FileProblem
from baton.imports.problems import row_too_large as row_too_large

# The largest file accepted: 2 GB less one byte (settings.BATON_IMPORT_MAX_BYTES overrides).
MAX_FILE_BYTES = 2 * 1024**3 - 1

# The longest row accepted, in bytes of the file (settings.BATON_IMPORT_MAX_ROW_BYTES overrides).
MAX_ROW_BYTES = 1024 * 1024
# The most rows below the header (settings.BATON_IMPORT_MAX_ROWS overrides; an XLSX worksheet
# has at most 1,048,576 rows anyway).
MAX_ROWS = 10_000_000
# The most columns a header row may name.
MAX_COLUMNS = 2000
# A data row may have this many times as many cells as the header has columns (extra cells
# are dropped); more means the file is not the table it claims to be.
MAX_CELLS_FACTOR = 5

# How much of a CSV decides its encoding and delimiter.
SAMPLE_BYTES = 1024 * 1024
# Rows between updates of Table.bytes_read.
_PROGRESS_EVERY = 256

_ZIP_MAGIC = b"PK\x03\x04"
# Names that promise an Office Open XML workbook (a ZIP); a text file so named is refused.
_XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
# OLE2 compound file: an old .xls, or an .xlsx saved with a password (encrypted).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DELIMITERS = (",", ";", "\t")
# Bytes read from a CSV at a time.
_BLOCK_BYTES = 64 * 1024
# Held while csv.field_size_limit, global to the process, is raised for our rows.
_FIELD_LIMIT_LOCK = threading.Lock()


@dataclass
class Table:
    """An uploaded spreadsheet: its column names and a way to stream its data rows."""

    header: list[str]
    encoding: str  # 'utf-8', 'utf-8-sig', 'gb18030' or 'xlsx'
    size: int  # bytes on disk
    path: Path
    sheet: str | None = None
    delimiter: str = ","
    # Progress of rows(): bytes of the file consumed so far (estimated for xlsx).
    bytes_read: int = field(default=0)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Data rows as (row number as a spreadsheet shows it, cells as text), blank rows skipped.

        Each call reads the file again from the start; rows have exactly len(header) cells."""
        width = len(self.header)
        self.bytes_read = 0
        records = _xlsx_records(self) if self.encoding == "xlsx" else _csv_records(self)
        seen_header = False
        for number, cells in records:
            if not seen_header:
                seen_header = True  # the first non-blank row is the header
                continue
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            yield number, cells[:width]
        self.bytes_read = self.size


def open_table(path: str | Path, *, sheet: str | None = None, name: str | None = None) -> Table:
    """Open an uploaded CSV or XLSX file, check it and read its header row.

    The content decides how the file is read; `name` (the uploaded file's name) only adds a
    check: a file named .xlsx that is no ZIP is refused rather than read as text."""
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise FileProblem(
            _("The uploaded file is no longer available. Please upload it again."),
            code="missing",
        ) from None
    limit = int(getattr(settings, "BATON_IMPORT_MAX_BYTES", MAX_FILE_BYTES))
    if size > limit:
        raise FileProblem(
            _("The file is too large (%(size)s). Files up to %(limit)s can be imported.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    if size == 0:
        raise FileProblem(_("The file is empty."), code="empty")

    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    if sample.startswith(_OLE_MAGIC):
        raise FileProblem(
            _(
                "This is an old Excel (.xls) file or a password-protected workbook. "
                "Please save it as .xlsx or CSV (without a password) and upload it again."
            ),
            code="xls",
        )
    if name and name.lower().endswith(_XLSX_SUFFIXES) and not sample.startswith(_ZIP_MAGIC):
        raise FileProblem(
            _(
                "“%(name)s” is not an XLSX file: its content is not an Excel workbook. Please "
                "save it from Excel or WPS as .xlsx (or as CSV, named .csv) and upload it again."
            )
            % {"name": os.path.basename(name)},
            code="not_xlsx",
        )
    records: Records
    if sample.startswith(_ZIP_MAGIC):
        book = _load_workbook(path)
        table = Table(header=[], encoding="xlsx", size=size, path=path)
        table.sheet = _pick_sheet(book, sheet)
        records = _xlsx_records(table, book)
    else:
        encoding = _detect_encoding(sample, whole=size <= len(sample))
        table = Table(header=[], encoding=encoding, size=size, path=path)
        table.delimiter = _detect_delimiter(sample.decode(encoding, errors="replace"))
        records = _csv_records(table)

    # Read the header and make sure one data row follows; then stop.
    try:
        first = next(records, None)
        if first is None:
            raise FileProblem(_("The file has no rows: not even a header row."), code="empty")
        if next(records, None) is None:
            raise FileProblem(
                _("The file has a header row but no data rows below it."), code="no_rows"
            )
    finally:
        records.close()
    table.header = _check_header(first[1])
    table.bytes_read = 0
    return table


# --- CSV -------------------------------------------------------------------------------------


def _detect_encoding(sample: bytes, *, whole: bool) -> str:
    """Decide the encoding from the start of the file (the whole file when it is short)."""
    if sample.startswith(_UTF16_BOMS):
        raise FileProblem(
            _(
                "The file is in UTF-16 (Excel's “Unicode text”). "
                "Please save it as “CSV UTF-8” and upload it again."
            ),
            code="encoding",
        )
    bom = sample.startswith(codecs.BOM_UTF8)
    candidates = ("utf-8-sig",) if bom else ("utf-8", "gb18030")
    for encoding in candidates:
        # Incremental, so a character cut at the end of the sample is not an error.
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        try:
            decoder.decode(sample, final=whole)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileProblem(
        _(
            "The file cannot be read as text in %(encodings)s. Please save it as "
            "“CSV UTF-8” (or as .xlsx) and upload it again."
        )
        % {
            "encodings": _("%(first)s or %(second)s")
            % {"first": "UTF-8", "second": "GB18030 (GBK)"}
            if not bom
            else "UTF-8"
        },
        code="encoding",
    )


def _detect_delimiter(text: str) -> str:
    """The separator used in the header line: comma, semicolon or tab, outside quotes."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    started = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "\r\n":
            if started:
                break  # end of the first non-blank line
        elif not quoted:
            started = True
            if ch in counts:
                counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties go to the comma, listed first
    return best if counts[best] else ","


Records = Generator[tuple[int, list[str]]]


def _csv_records(table: Table) -> Records:
    """Every non-blank record of a CSV file with its row number (blank lines count as rows,
    as they do when the file is opened in a spreadsheet)."""
    limit = _max_row_bytes()
    max_rows = _max_rows()
    # A cell may be as long as a whole row. csv's field limit is global to the process: it is
    # raised (never lowered) once, since our own per-row limit is what bounds memory.
    with _FIELD_LIMIT_LOCK:
        if csv.field_size_limit() < limit + 1:
            csv.field_size_limit(limit + 1)
    with open(table.path, "rb") as raw:
        lines = _Lines(raw, table.encoding, limit)
        reader = csv.reader(iter(lines), delimiter=table.delimiter)
        number = 0
        max_cells = 0  # set once the header row is known
        while True:
            lines.row = number + 1
            lines.record = 0
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise FileProblem(
                    _(
                        "Row %(row)s cannot be read as CSV (%(error)s). Check for a quotation "
                        "mark that is not closed."
                    )
                    % {"row": number + 1, "error": e},
                    code="csv",
                ) from None
            number += 1
            if number > max_rows + 1:  # the header and max_rows rows below it
                raise too_many_rows(number, max_rows)
            if number % _PROGRESS_EVERY == 0:
                table.bytes_read = lines.position
            if max_cells and len(record) > max_cells:
                count = _width(record)
                if count > max_cells:
                    raise FileProblem(
                        _(
                            "Row %(row)s has %(count)s cells, far more than the %(columns)s "
                            "columns of the header row."
                        )
                        % {"row": number, "count": count, "columns": max_cells // MAX_CELLS_FACTOR},
                        code="too_many_cells",
                    )
            cells = [c.strip() for c in record]
            if not any(cells):
                continue
            if not max_cells:  # the first non-blank row is the header
                max_cells = MAX_CELLS_FACTOR * _check_width(_width(cells))
            yield number, cells


def _max_row_bytes() -> int:
    return int(getattr(settings, "BATON_IMPORT_MAX_ROW_BYTES", MAX_ROW_BYTES))


def _max_rows() -> int:
    return int(getattr(settings, "BATON_IMPORT_MAX_ROWS", MAX_ROWS))


def too_many_rows(row: int, limit: int) -> FileProblem:
    return FileProblem(
        _(
            "Row %(row)s is past the %(limit)s rows a file may hold below its header. Please "
            "split the file into smaller ones."
        )
        % {"row": row, "limit": f"{limit:,}"},
        code="too_many_rows",
    )


def _width(cells: list[str]) -> int:
    """How many cells a row has up to its last non-empty one."""
    count = len(cells)
    while count and not cells[count - 1].strip():
        count -= 1
    return count


def _check_width(columns: int) -> int:
    if columns > MAX_COLUMNS:
        raise _check_width_error(columns)
    return columns


def _check_width_error(columns: int) -> FileProblem:
    return FileProblem(
        _("The header row has %(count)s columns; at most %(limit)s can be imported.")
        % {"count": columns, "limit": MAX_COLUMNS},
        code="too_many_cells",
    )


class _Lines:
    """The physical lines of a CSV file as text, line endings kept, for csv.reader.

    A record longer than the limit (counting every line a quoted cell spans) is refused while it
    is read, so at most the limit and one block of the file are ever held in memory. The lines
    are split on the bytes CR and LF, which in UTF-8 and GB18030 never occur inside a character,
    so each line can be decoded on its own.
    """

    def __init__(self, raw: io.BufferedReader, encoding: str, limit: int):
        self.limit = limit
        self.position = 0  # bytes of the file handed to the csv reader
        self.row = 1  # the row of the file the record being read is (set by the caller)
        self.record = 0  # bytes of the record being read (reset by the caller)
        self._raw = raw
        self._encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self._bom = encoding == "utf-8-sig"
        self._label = encoding

    def __iter__(self) -> Iterator[str]:
        raw, limit = self._raw, self.limit
        if self._bom and raw.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:
            self.position = len(codecs.BOM_UTF8)
        tail = b""  # the start of a line whose end is not read yet
        while block := raw.read(_BLOCK_BYTES):
            lines = (tail + block if tail else block).splitlines(keepends=True)
            tail = lines.pop()
            # A line ending in CR may continue with the LF of a CRLF in the next block.
            if tail.endswith(b"\n"):
                lines.append(tail)
                tail = b""
            for line in lines:
                # The caller resets `record` between records, while this generator is paused.
                self.record += len(line)
                if self.record > limit:
                    raise row_too_large(self.row, limit)
                self.position += len(line)
                yield self._decode(line)
            if self.record + len(tail) > limit:
                raise row_too_large(self.row, limit)
        if tail:
            self.record += len(tail)
            if self.record > limit:
                raise row_too_large(self.row, limit)
            self.position += len(tail)
            yield self._decode(tail)

    def _decode(self, line: bytes) -> str:
        try:
            return line.decode(self._encoding)
        except UnicodeDecodeError:
            raise FileProblem(
                _(
                    "Row %(row)s is not in %(encoding)s, the encoding found at the start "
                    "of the file. Please save the whole file as “CSV UTF-8” and "
                    "upload it again."
                )
                % {"row": self.row, "encoding": _encoding_label(self._label)},
                code="encoding",
            ) from None


def _encoding_label(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "gb18030": "GB18030 (GBK)"}.get(encoding, encoding.upper())


# --- XLSX ------------------------------------------------------------------------------------


def _load_workbook(path: Path) -> Any:
    return xlsx.Workbook(path, int(getattr(settings, "BATON_IMPORT_MAX_BYTES", MAX_FILE_BYTES)))


def _pick_sheet(book: Any, sheet: str | None) -> str:
    try:
        names = book.sheet_names
        if sheet is None:
            if not names:
                raise FileProblem(_("The workbook has no worksheets."), code="empty")
            return str(names[0])
        if sheet not in names:
            raise FileProblem(
                _("The workbook has no sheet named “%(sheet)s”. Its sheets: %(names)s.")
                % {"sheet": sheet, "names": ", ".join(names)},
                code="sheet",
            )
        return sheet
    except FileProblem:
        book.close()
        raise


def _xlsx_records(table: Table, book: Any = None) -> Records:
    """Every non-blank row of the worksheet with its row number in the sheet.

    The header row is read up to one column past the most allowed, the rows below it up to the
    header's width: a sheet may claim thousands of columns and rows would be that wide. The
    limits (a cell, a row, the rows of the file, a token of the XML) are checked by the parser
    while it reads, see `baton.imports.xlsx`."""
    if book is None:
        book = _load_workbook(table.path)
    try:
        assert table.sheet is not None
        rows = xlsx.SheetRows(
            book,
            table.sheet,
            to_text=cell_text,
            max_row_chars=_max_row_bytes(),
            max_rows=_max_rows(),
            keep=MAX_COLUMNS + 1,
            max_header_columns=MAX_COLUMNS,
            too_wide=_check_width_error,
            too_many_rows=too_many_rows,
        )
        read = 0
        header: list[str] = []
        for number, cells in rows:
            read += 1
            if read % _PROGRESS_EVERY == 0:
                table.bytes_read = min(table.size - 1, rows.position)
            if not any(cells):
                continue
            if not header:
                cells = header = cells[: _check_width(_width(cells))]
                rows.keep = len(header)
            yield number, cells
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell's value as text the import engine parses (dates in ISO form)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        # The shortest form that reads back as the same number, never in exponent notation.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        value = _round_seconds(value)
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _round_seconds(dt.datetime.combine(dt.date(2000, 1, 1), value)).strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return str(value).strip()


def _round_seconds(value: dt.datetime) -> dt.datetime:
    # Excel stores times as fractions of a day; 10:30 may come back as 10:29:59.999999.
    return (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


def _check_header(cells: list[str]) -> list[str]:
    names = [c.replace("\ufeff", "").strip() for c in cells]
    while names and not names[-1]:
        names.pop()  # trailing empty columns are formatting, not columns
    blank = [get_column_letter(i) for i, name in enumerate(names, start=1) if not name]
    if blank:
        raise FileProblem(
            _("The header row has columns without a name: column %(columns)s.")
            % {"columns": ", ".join(blank)},
            code="header",
        )
    seen: set[str] = set()
    dupes: list[str] = []
    for name in names:
        if name in seen and name not in dupes:
            dupes.append(name)
        seen.add(name)
    if dupes:
        raise FileProblem(
            _("The header row names a column more than once: %(names)s.")
            % {"names": ", ".join(f"“{n}”" for n in dupes)},
            code="header",
        )
    return names
