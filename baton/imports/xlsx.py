"""Reading a worksheet of an .xlsx workbook as a stream of rows, every limit enforced while the
XML is parsed — before a huge value is held in memory.

Why not openpyxl here: its read-only mode loads the whole shared-strings table into a list and
builds an element tree per row before handing it over, so a 1 MB workbook whose one cell unpacks
to 1 GB is materialised by openpyxl itself (the web process grew to 2.5 GB on such a file). This
module reads the zip members with expat directly: text arrives in pieces, and a cell longer than
Excel's own limit (32,767 characters), a row longer than the row limit, a row with more cells than
a worksheet has columns, a file with more rows than the row limit or a single XML token longer
than a row stops the parse at once. The shared strings are looked up lazily and kept in a
temporary file (8 bytes of memory each), so the upload's header check reads only the start of
the table.

Refused before anything is parsed: a workbook whose parts unpack to more than the file limit, a
large part that unpacks to more than MAX_RATIO times its compressed size (a zip bomb), and — while
parsing — any DTD, so no entity can expand. openpyxl still writes workbooks (exports, reports)
and supplies the number-format and date rules, so values read the same as before.
"""

from __future__ import annotations

import array
import contextlib
import os
import posixpath
import tempfile
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, Any
from xml.parsers import expat

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import (
    CALENDAR_MAC_1904,
    CALENDAR_WINDOWS_1900,
    from_excel,
    from_ISO8601,
)

from baton.imports.problems import FileProblem, row_too_large

# Excel's own limits: the text of one cell, and the rows and columns of one worksheet.
MAX_CELL_CHARS = 32_767
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 16_384
# A part larger than RATIO_FROM_BYTES unpacked may be at most MAX_RATIO times its compressed
# size. Real worksheets compress 5–30 times; a zip bomb (one repeated byte) about 1,000 times.
MAX_RATIO = 100
RATIO_FROM_BYTES = 16 * 1024**2
# workbook.xml, the relationships and the styles are parsed whole; none is ever this large.
MAX_SMALL_PART_BYTES = 64 * 1024**2
# Bytes of XML handed to expat at a time.
_BLOCK = 64 * 1024
# Shared strings up to this length are also cached in memory (the same department codes repeat).
_CACHE_CHARS = 256
_CACHE_ENTRIES = 50_000


def _damaged() -> FileProblem:
    return FileProblem(_("The workbook is damaged and cannot be opened."), code="unreadable")


def _damaged_row(row: int) -> FileProblem:
    return FileProblem(
        _("The workbook is damaged: row %(row)s cannot be read.") % {"row": row},
        code="unreadable",
    )


def _local(name: str) -> str:
    """An element or attribute name without its namespace (transitional and strict OOXML)."""
    return name.rpartition(" ")[2]


class _Member:
    """expat over one zip member: no DTD, text in pieces, and no token (a tag, an attribute,
    text outside a cell value) longer than `token_limit` — expat buffers a token whole."""

    def __init__(self, book: Workbook, name: str, token_limit: int, on_token: Callable[[], int]):
        self.stream: IO[bytes] = book.zip.open(name)
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.buffer_text = False
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype
        self.fed = 0  # bytes of XML handed to expat
        self.mark = 0  # the byte offset of the last element boundary expat reported
        self.token_limit = token_limit
        self.on_token = on_token  # the row the reader is in, for the message

    def _doctype(self, *args: Any) -> None:
        # No workbook part needs a DTD; refusing it rules out entity expansion of every kind.
        raise FileProblem(
            _("The workbook contains a document type declaration; Baton does not read those."),
            code="unreadable",
        )

    def boundary(self) -> None:
        self.mark = self.parser.CurrentByteIndex

    def feed(self) -> bool:
        """Parse the next block; False once the member is read to its end."""
        try:
            block = self.stream.read(_BLOCK)
            self.parser.Parse(block, not block)
        except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, ValueError):
            raise _damaged_row(self.on_token()) from None
        if not block:
            return False
        self.fed += len(block)
        if self.fed - self.mark > self.token_limit:
            raise _damaged_row(self.on_token())
        return True

    def close(self) -> None:
        self.stream.close()


def _parse_small(book: Workbook, name: str, start: Callable[[str, dict[str, str]], None]) -> None:
    """Parse a small part (workbook, relationships, styles) whole, reporting start tags."""
    member = _Member(book, name, MAX_SMALL_PART_BYTES, lambda: 1)

    def on_start(tag: str, attrs: dict[str, str]) -> None:
        member.boundary()
        start(_local(tag), attrs)

    member.parser.StartElementHandler = on_start
    try:
        while member.feed():
            pass
    finally:
        member.close()


def _attr(attrs: dict[str, str], local: str, *, namespaced: bool = False) -> str | None:
    for key, value in attrs.items():
        if _local(key) == local and ((" " in key) == namespaced):
            return value
    return None


class Workbook:
    """An .xlsx file opened for reading one worksheet as rows."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int):
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            try:
                self.zip = zipfile.ZipFile(self.file)
                infos = self.zip.infolist()
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                raise _damaged() from None
            self.names = {i.filename for i in infos}
            if not any(n.startswith("xl/") for n in self.names):
                raise FileProblem(
                    _("This archive is not an Excel workbook. Please upload an .xlsx or CSV file."),
                    code="unsupported",
                )
            self._check_sizes(infos, max_bytes)
            self._read_structure()
        except BaseException:
            self.close()
            raise

    def _check_sizes(self, infos: list[zipfile.ZipInfo], max_bytes: int) -> None:
        # Declared sizes bound what zipfile will unpack (it stops at the declared size and fails
        # the CRC check if the data says otherwise), so checking them up front is enough.
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise FileProblem(
                _("The workbook unpacks to %(size)s; at most %(limit)s can be imported.")
                % {"size": filesizeformat(total), "limit": filesizeformat(max_bytes)},
                code="too_large",
            )
        for info in infos:
            if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(
                1, info.compress_size
            ):
                raise FileProblem(
                    _(
                        "The workbook unpacks to %(size)s, more than %(ratio)s times its size: "
                        "it is not a spreadsheet Baton imports."
                    )
                    % {"size": filesizeformat(info.file_size), "ratio": MAX_RATIO},
                    code="too_large",
                )

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id → (type, path of the target inside the zip)."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        found: dict[str, tuple[str, str]] = {}
        if rels_name not in self.names:
            return found

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs.get("Target", "")
                path = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target))
                )
                found[attrs.get("Id", "")] = (attrs.get("Type", ""), path)

        _parse_small(self, rels_name, start)
        return found

    def _read_structure(self) -> None:
        main = "xl/workbook.xml"
        for rel_type, path in self._rels("").values():
            if rel_type.endswith("/officeDocument"):
                main = path
        if main not in self.names:
            raise _damaged()
        rels = self._rels(main)
        sheets: list[tuple[str, str]] = []
        date1904 = [False]

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "sheet":
                rel = rels.get(_attr(attrs, "id", namespaced=True) or "")
                if rel and rel[0].endswith("/worksheet"):
                    sheets.append((attrs.get("name", ""), rel[1]))
            elif tag == "workbookPr":
                date1904[0] = attrs.get("date1904", "").lower() in ("1", "true")

        _parse_small(self, main, start)
        self.sheets = dict(sheets)
        self.sheet_names = [name for name, _path in sheets]
        self.epoch = CALENDAR_MAC_1904 if date1904[0] else CALENDAR_WINDOWS_1900
        self.shared_strings_part = next(
            (p for t, p in rels.values() if t.endswith("/sharedStrings") and p in self.names), None
        )
        styles = next((p for t, p in rels.values() if t.endswith("/styles")), None)
        self.date_styles, self.timedelta_styles = (
            self._number_styles(styles) if styles in self.names else (set(), set())
        )

    def _number_styles(self, part: str) -> tuple[set[int], set[int]]:
        """The cell styles (cellXfs indices) whose number format shows a date or a duration,
        decided as openpyxl decides it."""
        custom: dict[int, str] = {}
        formats: list[int] = []
        where = {"cellXfs": False}

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "numFmt":
                with contextlib.suppress(ValueError):
                    custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
            elif tag == "cellXfs":
                where["cellXfs"] = True
            elif tag == "xf" and where["cellXfs"]:
                try:
                    formats.append(int(attrs.get("numFmtId", "0")))
                except ValueError:
                    formats.append(0)
            elif tag in ("cellStyles", "dxfs"):
                where["cellXfs"] = False

        _parse_small(self, part, start)
        dates: set[int] = set()
        durations: set[int] = set()
        for index, fmt_id in enumerate(formats):
            code = custom.get(fmt_id) if fmt_id in custom else BUILTIN_FORMATS.get(fmt_id)
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return dates, durations

    def close(self) -> None:
        zf = getattr(self, "zip", None)
        if zf is not None:
            zf.close()
        self.file.close()


class _TooLong(Exception):
    """A shared string longer than a cell may be; the cell that uses it names the row."""


class _SharedStrings:
    """The shared-strings table, parsed only as far as the cells read so far need, its text kept
    in a temporary file with an array of offsets (8 bytes per string in memory)."""

    def __init__(self, book: Workbook, part: str | None):
        self._member = _Member(book, part, 4 * _BLOCK, lambda: 1) if part else None
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._fd = self._file.fileno()
        self._offsets = array.array("Q", [0])
        self._too_long: set[int] = set()
        self._cache: dict[int, str] = {}
        self._pending = bytearray()
        self._parts: list[str] = []
        self._chars = 0
        self._in_si = self._in_text = False
        self._phonetic = 0
        if self._member is not None:
            p = self._member.parser
            p.StartElementHandler = self._start
            p.EndElementHandler = self._end
            p.CharacterDataHandler = self._text

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        assert self._member is not None
        self._member.boundary()
        tag = _local(tag)
        if tag == "si":
            self._in_si, self._parts, self._chars = True, [], 0
        elif tag == "rPh":
            self._phonetic += 1  # the phonetic guide of East Asian text is not the value
        elif tag == "t" and self._in_si and not self._phonetic:
            self._in_text = True

    def _end(self, tag: str) -> None:
        assert self._member is not None
        self._member.boundary()
        tag = _local(tag)
        if tag == "t":
            self._in_text = False
        elif tag == "rPh":
            self._phonetic -= 1
        elif tag == "si":
            self._in_si = False
            if self._chars > MAX_CELL_CHARS:
                self._too_long.add(len(self._offsets) - 1)
                data = b""
            else:
                data = "".join(self._parts).replace("x005F_", "").encode()
            self._parts = []
            self._pending += data
            self._offsets.append(self._offsets[-1] + len(data))

    def _text(self, data: str) -> None:
        if self._in_text:
            # Text of a string arrives in pieces: it is no buffered token, whatever its length.
            assert self._member is not None
            self._member.boundary()
            self._chars += len(data)
            if self._chars <= MAX_CELL_CHARS:
                self._parts.append(data)
            else:
                self._parts = []  # too long: only its length is kept, to name the cell

    def __getitem__(self, index: int) -> str:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        while index >= len(self._offsets) - 1:
            if self._member is None or not self._member.feed():
                raise ValueError(index)  # a cell names a string that is not in the table
            if self._pending:
                os.pwrite(self._fd, self._pending, self._offsets[-1] - len(self._pending))
                self._pending.clear()
        if index < 0:
            raise ValueError(index)
        if index in self._too_long:
            raise _TooLong
        start, end = self._offsets[index], self._offsets[index + 1]
        text = os.pread(self._fd, end - start, start).decode()
        if len(text) <= _CACHE_CHARS:
            if len(self._cache) >= _CACHE_ENTRIES:
                self._cache.clear()
            self._cache[index] = text
        return text

    def close(self) -> None:
        if self._member is not None:
            self._member.close()
        self._file.close()


def _column(ref: str) -> int:
    """The column number of a cell reference ("AB12" → 28)."""
    number = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            number = number * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            number = number * 26 + ord(ch) - 96
        else:
            break
    return number


def _number(text: str) -> int | float:
    # As openpyxl reads a number cell.
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


class SheetRows:
    """The rows of one worksheet as (row number, cells as text): every row element, blank ones
    included, each cut to `keep` columns. The first row with a value is the header: until it
    ends, a value past `max_header_columns` is refused. The caller narrows `keep` to the
    header's width once it has it (rows parsed in the same block are cut by the caller)."""

    def __init__(
        self,
        book: Workbook,
        sheet: str,
        *,
        to_text: Callable[[Any], str],
        max_row_chars: int,
        max_rows: int,
        keep: int,
        max_header_columns: int,
        too_wide: Callable[[int], FileProblem],
        too_many_rows: Callable[[int, int], FileProblem],
    ):
        self.book = book
        self.keep = keep
        self.header_done = False
        self._to_text = to_text
        self._max_row_chars = max_row_chars
        self._max_rows = min(max_rows, MAX_SHEET_ROWS)
        self._max_header_columns = max_header_columns
        self._too_wide = too_wide
        self._too_many_rows = too_many_rows
        self._strings = _SharedStrings(book, book.shared_strings_part)
        self._member = _Member(
            book, book.sheets[sheet], max_row_chars + 4 * _BLOCK, lambda: self.row
        )
        p = self._member.parser
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._chars_in
        self._ready: deque[tuple[int, list[str]]] = deque()
        self.row = 0  # the row being read (as the spreadsheet numbers it)
        self._rows_seen = 0
        self._cells: dict[int, str] = {}
        self._col = 0
        self._cell_count = 0
        self._row_chars = 0
        self._type = "n"
        self._style = 0
        self._in_cell = False
        self._in_value = False
        self._phonetic = 0
        self._parts: list[str] = []
        self._cell_chars = 0

    @property
    def position(self) -> int:
        """Bytes of the file read so far (the worksheet is most of an .xlsx)."""
        return self.book.file.tell()

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        try:
            while True:
                while not self._ready:
                    if not self._member.feed():
                        return
                yield self._ready.popleft()
        except FileProblem:
            # A block holds many rows: those above the bad one are still handed over first,
            # as a CSV's would be.
            while self._ready:
                yield self._ready.popleft()
            raise
        finally:
            self.close()

    def close(self) -> None:
        self._member.close()
        self._strings.close()

    # -- expat handlers

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self._member.boundary()
        tag = _local(tag)
        if tag == "c":
            ref = attrs.get("r")
            self._col = _column(ref) if ref else self._col + 1
            self._cell_count += 1
            if self._cell_count > MAX_SHEET_COLUMNS:
                raise FileProblem(
                    _(
                        "Row %(row)s has more than %(limit)s cells, more than a worksheet has "
                        "columns."
                    )
                    % {"row": self.row, "limit": f"{MAX_SHEET_COLUMNS:,}"},
                    code="too_many_cells",
                )
            if not 0 < self._col <= MAX_SHEET_COLUMNS:
                raise _damaged_row(self.row)
            self._type = attrs.get("t", "n")
            style = attrs.get("s")
            self._style = int(style) if style and style.isdigit() else 0
            self._in_cell = True
            self._parts, self._cell_chars = [], 0
        elif tag == "row":
            ref = attrs.get("r")
            try:
                self.row = int(ref) if ref else self.row + 1
            except ValueError:
                raise _damaged_row(self.row + 1) from None
            self._rows_seen += 1
            if self._rows_seen > self._max_rows + 1 or not 0 < self.row <= MAX_SHEET_ROWS:
                raise self._too_many_rows(self.row, self._max_rows)
            self._cells, self._col, self._cell_count, self._row_chars = {}, 0, 0, 0
        elif self._in_cell:
            if tag == "v" or (tag == "t" and not self._phonetic):
                self._in_value = True
            elif tag == "rPh":
                self._phonetic += 1

    def _chars_in(self, data: str) -> None:
        if not self._in_value:
            return  # formulas, whitespace: only the token limit applies
        self._member.boundary()
        n = len(data)
        self._cell_chars += n
        self._row_chars += n
        if self._cell_chars > MAX_CELL_CHARS:
            raise cell_too_large(self.row, self._col)
        if self._row_chars > self._max_row_chars:
            raise row_too_large(self.row, self._max_row_chars)
        if self._col <= self.keep:
            self._parts.append(data)

    def _end(self, tag: str) -> None:
        self._member.boundary()
        tag = _local(tag)
        if tag in ("v", "t"):
            self._in_value = False
        elif tag == "rPh":
            self._phonetic -= 1
        elif tag == "c":
            self._in_cell = False
            if not self._cell_chars:
                return
            if not self.header_done and self._col > self._max_header_columns:
                raise self._too_wide(self._col)
            if self._col <= self.keep:
                try:
                    value = self._value("".join(self._parts))
                except _TooLong:
                    raise cell_too_large(self.row, self._col) from None
                except (ValueError, IndexError, OverflowError):
                    raise _damaged_row(self.row) from None
                self._cells[self._col] = self._to_text(value)
        elif tag == "row":
            if not self.header_done and any(self._cells.values()):
                self.header_done = True
            width = max(self._cells, default=0)
            cells = [""] * width
            for col, text in self._cells.items():
                cells[col - 1] = text
            self._ready.append((self.row, cells))

    def _value(self, raw: str) -> Any:
        kind = self._type
        if kind == "s":
            return self._strings[int(raw)]
        if kind == "inlineStr":
            return raw
        if kind == "n":
            number = _number(raw)
            if self._style in self.book.date_styles:
                try:
                    return from_excel(
                        number,
                        self.book.epoch,
                        timedelta=self._style in self.book.timedelta_styles,
                    )
                except (OverflowError, ValueError):
                    return "#VALUE!"  # as openpyxl reads a date serial out of range
            return number
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return from_ISO8601(raw)
        return raw  # "str" (a formula's text result), "e" (an error such as #N/A)


def cell_too_large(row: int, column: int) -> FileProblem:
    return FileProblem(
        _(
            "Row %(row)s, column %(column)s holds more than %(limit)s characters, the most a "
            "cell may hold."
        )
        % {"row": row, "column": get_column_letter(column), "limit": f"{MAX_CELL_CHARS:,}"},
        code="cell_too_large",
    )
