"""Hostile uploads (security probe, issue 13): workbooks crafted to exhaust memory or time —
one giant cell (inline or shared), a giant row, millions of rows, a zip bomb, a DTD, a giant XML
token — are refused while they are parsed, in little memory, with a message naming the row and
column; a text file named .xlsx is refused as not being one; and on SQLite a validation holds no
write lock, so signing in is never blocked by it.

The workbooks are written with zipfile directly (tiny on disk, highly compressible), not with
openpyxl, which could not even write some of them."""

from __future__ import annotations

import sqlite3
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from baton.access.models import User
from baton.imports import actions, exports
from baton.imports.models import BatchStatus, ImportBatch
from baton.imports.readers import FileProblem, Table, open_table
from baton.org.models import Employee

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
MiB = 1024**2


def workbook(
    path: Path,
    rows: Iterable[bytes],
    shared: Iterable[bytes] = (),
    prologue: bytes = b"",
) -> Path:
    """An .xlsx with one worksheet whose XML is `rows` (streamed into the zip), and a
    shared-strings table of `shared` (<si> elements)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType='
            '"application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write(prologue + f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            for chunk in rows:
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w") as f:
            f.write(f'<sst xmlns="{MAIN}">'.encode())
            for chunk in shared:
                f.write(chunk)
            f.write(b"</sst>")
    return path


def inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


HEADER = b'<row r="1">' + inline("A1", "id") + inline("B1", "name") + b"</row>"


def repeated(chunk: bytes, total: int) -> Iterable[bytes]:
    """`total` bytes of `chunk` repeated, a MiB at a time (the test itself stays small)."""
    block = chunk * (MiB // len(chunk))
    for _ in range(total // len(block)):
        yield block


def refused(fn: Callable[[], Any]) -> tuple[FileProblem, int, float]:
    """The FileProblem fn raises, the most memory Python allocated meanwhile, and the time."""
    start = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(FileProblem) as exc:
            fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return exc.value, peak, time.monotonic() - start


def read_all(path: Path) -> list[tuple[int, list[str]]]:
    table: Table = open_table(path)
    return list(table.rows())


# --- one giant cell ---------------------------------------------------------------------------


def test_a_giant_inline_cell_is_refused_while_parsing(tmp_path: Path) -> None:
    rows = [
        HEADER,
        b'<row r="2">' + inline("A2", "1") + b'<c r="B2" t="inlineStr"><is><t>',
        *repeated(b"x", 12 * MiB),
        b"</t></is></c></row>",
    ]
    p = workbook(tmp_path / "cell.xlsx", rows)
    assert p.stat().st_size < 100_000
    err, peak, _ = refused(lambda: open_table(p))
    assert err.code == "cell_too_large"
    assert "Row 2, column B" in err.message and "32,767" in err.message
    assert peak < 3 * MiB  # openpyxl held the 12 MB text (and more) before refusing nothing


def test_a_giant_shared_string_is_refused_naming_the_cell_that_uses_it(tmp_path: Path) -> None:
    shared = [
        b"<si><t>id</t></si><si><t>name</t></si><si><t>",
        *repeated(b"y", 12 * MiB),
        b"</t></si><si><t>Ma</t></si>",
    ]
    rows = [
        b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>',
        b'<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>3</v></c></row>',
        b'<row r="3"><c r="A3"><v>2</v></c><c r="B3" t="s"><v>2</v></c></row>',
    ]
    p = workbook(tmp_path / "shared.xlsx", rows, shared)
    table = open_table(p)  # the long string is not needed for the header or row 2
    rows_read = table.rows()
    assert next(rows_read) == (2, ["1", "Ma"])
    err, peak, _ = refused(lambda: next(rows_read))
    assert err.code == "cell_too_large" and "Row 3, column B" in err.message
    assert peak < 3 * MiB


def test_a_zip_bomb_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    rows = [
        HEADER,
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>',
        *repeated(b"z", 200 * MiB),
        b"</t></is></c></row>",
    ]
    p = workbook(tmp_path / "bomb.xlsx", rows)
    assert p.stat().st_size < 1 * MiB
    err, peak, seconds = refused(lambda: open_table(p))
    assert err.code == "too_large" and "100 times" in err.message
    assert peak < 2 * MiB and seconds < 2


# --- a giant row, too many cells, too many rows --------------------------------------------------


def test_a_row_over_the_row_limit_is_refused(tmp_path: Path, settings: Any) -> None:
    settings.BATON_IMPORT_MAX_ROW_BYTES = 100_000
    cells = b"".join(inline(f"{c}2", "w" * 20_000) for c in "ABCDEF")  # 120,000 characters
    p = workbook(tmp_path / "row.xlsx", [HEADER, b'<row r="2">' + cells + b"</row>"])
    err, _peak, _ = refused(lambda: open_table(p))
    assert err.code == "row_too_large" and "Row 2 " in err.message


def test_a_row_with_more_cells_than_a_sheet_has_columns_is_refused(tmp_path: Path) -> None:
    cells = b"<c><v>1</v></c>" * 16_385
    p = workbook(tmp_path / "cells.xlsx", [HEADER, b'<row r="2">' + cells + b"</row>"])
    err, _peak, _ = refused(lambda: open_table(p))
    assert err.code == "too_many_cells" and "Row 2 " in err.message and "16,384" in err.message


def test_rows_past_the_limit_are_refused_at_the_limit(tmp_path: Path, settings: Any) -> None:
    settings.BATON_IMPORT_MAX_ROWS = 1000
    rows = [HEADER] + [
        f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>'.encode() for i in range(2, 300_000)
    ]
    p = workbook(tmp_path / "rows.xlsx", rows)
    table = open_table(p)
    err, peak, _ = refused(lambda: list(table.rows()))
    assert err.code == "too_many_rows"
    assert "Row 1002 " in err.message and "1,000" in err.message
    assert peak < 2 * MiB

    csv = tmp_path / "rows.csv"
    csv.write_bytes(b"id\n" + b"".join(b"%d\n" % i for i in range(2, 5000)))
    err, _peak, _ = refused(lambda: list(open_table(csv).rows()))
    assert err.code == "too_many_rows" and "Row 1002 " in err.message


def test_a_sheet_has_at_most_excels_rows(tmp_path: Path) -> None:
    """The probe's sheet claimed 4 million rows; a worksheet holds 1,048,576."""
    rows = [HEADER, b'<row r="2"><c r="A2"><v>1</v></c></row>']
    rows.append(b'<row r="1048577"><c r="A1048577"><v>1</v></c></row>')
    table = open_table(workbook(tmp_path / "tall.xlsx", rows))
    err, _peak, _ = refused(lambda: list(table.rows()))
    assert err.code == "too_many_rows" and "Row 1048577 " in err.message


# --- XML tricks ---------------------------------------------------------------------------------


def test_a_dtd_is_refused(tmp_path: Path) -> None:
    prologue = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>'
    p = workbook(tmp_path / "dtd.xlsx", [HEADER], prologue=prologue)
    err, _peak, _ = refused(lambda: open_table(p))
    assert err.code == "unreadable" and "document type declaration" in err.message


def test_a_giant_xml_token_is_refused(tmp_path: Path) -> None:
    # An attribute is one token: expat would buffer all of it before reporting the element.
    rows = [HEADER, b'<row r="2"><c r="A2" junk="', *repeated(b"q", 12 * MiB), b'"/></row>']
    p = workbook(tmp_path / "token.xlsx", rows)
    err, peak, _ = refused(lambda: open_table(p))
    assert err.code == "unreadable" and "row 2 " in err.message
    assert peak < 4 * MiB


def test_the_header_check_reads_only_the_start_of_the_shared_strings(tmp_path: Path) -> None:
    """The upload (in the web process) reads the header and one row: a large shared-strings
    table is parsed only as far as those cells need."""
    shared = [b"<si><t>id</t></si><si><t>name</t></si>"] + [
        f"<si><t>person number {i:07d}</t></si>".encode() for i in range(300_000)
    ]
    rows = [b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'] + [
        f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}" t="s"><v>{i}</v></c></row>'.encode()
        for i in range(2, 2000)
    ]
    p = workbook(tmp_path / "sst.xlsx", rows, shared)
    tracemalloc.start()
    try:
        table = open_table(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.header == ["id", "name"]
    assert peak < 4 * MiB  # openpyxl loaded all 300,000 strings (~25 MB) first
    assert list(table.rows())[:2] == [
        (2, ["2", "person number 0000000"]),
        (3, ["3", "person number 0000001"]),
    ]


# --- not an XLSX --------------------------------------------------------------------------------


def test_a_text_file_named_xlsx_is_not_an_xlsx_file(tmp_path: Path) -> None:
    p = tmp_path / "upload.bin"
    p.write_bytes(b"id,name\n")  # read as CSV, this is "a header row but no data rows"
    err, _peak, _ = refused(lambda: open_table(p, name="People.XLSX"))
    assert err.code == "not_xlsx" and "not an XLSX file" in err.message
    with pytest.raises(FileProblem) as exc:
        open_table(p, name="people.csv")
    assert exc.value.code == "no_rows"


# --- through the upload page ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_upload_page_refuses_hostile_workbooks_in_bounded_memory(
    client_as: Any, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    client = client_as("admin")
    rows = [
        HEADER,
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>',
        *repeated(b"x", 12 * MiB),
        b"</t></is></c></row>",
    ]
    data = workbook(tmp_path / "cell.xlsx", rows).read_bytes()
    before = ImportBatch.objects.count()

    def post(name: str, content: bytes) -> Any:
        return client.post(
            reverse("imports:upload"),
            {"kind": "employees", "file": SimpleUploadedFile(name, content)},
        )

    response = post("people.xlsx", b"id,name\n1,a\n")
    assert response.status_code == 400
    # The page answers in the uploader's language (the demo admin reads Chinese).
    assert "不是 XLSX 文件" in response.content.decode()

    # Measured after that first request, which loaded the templates and the translations.
    tracemalloc.start()
    try:
        response = post("people.xlsx", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    assert "第 2 行 A 列超过 32,767 个字符" in response.content.decode()
    assert peak < 8 * MiB  # openpyxl held the 12 MB cell, several times over
    assert ImportBatch.objects.count() == before
    assert not list((tmp_path / "imports").glob("*.upload"))  # nothing kept


# --- SQLite: a validation holds no write lock ---------------------------------------------------


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_validation_on_sqlite_never_holds_the_write_lock(
    demo_data: None, settings: Any, tmp_path: Path
) -> None:
    """While an employees file is validated (its dry run writes and rolls back), another
    connection — a sign-in writing its session — can take the write lock at once."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    settings.DATA_DIR = tmp_path
    admin = User.objects.get(username="admin")
    lines = "".join(exports.csv_lines("employees", admin)).splitlines(keepends=True)
    number = lines[1].split(",")[0]
    cells = lines[1].split(",")
    cells[2] = cells[2] + "（更正）"
    renamed = ",".join(cells)
    path = tmp_path / "people.csv"
    path.write_text("".join([lines[0], renamed, *lines[2:]]), encoding="utf-8")
    batch = actions.upload(path, kind="employees", file_name=path.name, acting_user=admin)

    name = connection.settings_dict["NAME"]
    attempts: list[str] = []

    def sign_in_meanwhile(_rows: int, _done: int) -> None:
        other = sqlite3.connect(name, uri=name.startswith("file:"), timeout=0)
        other.isolation_level = None
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            attempts.append("took the lock")
        except sqlite3.OperationalError as e:
            attempts.append(str(e))
        finally:
            other.close()

    batch = actions.validate(batch, acting_user=admin, progress=sign_in_meanwhile)
    assert attempts and set(attempts) == {"took the lock"}, attempts
    assert batch.status == BatchStatus.VALID, batch.error
    assert batch.counts["total"]["updated"] == 1
    # The dry run wrote nothing to the real database, and left no copy behind.
    assert "（更正）" not in Employee.objects.get(employee_number=number).name
    assert not list((tmp_path / "imports").glob("validate-*"))
