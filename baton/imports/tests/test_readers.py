"""Reading uploaded CSV/XLSX files: encodings, delimiters, row numbers, refusals, streaming."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from baton.audit.export import safe_cell as export_safe_cell
from baton.core.cells import safe_cell
from baton.imports.readers import (
    FileProblem,
    Table,
    cell_text,
    looks_like_formula,
    open_table,
    unescape_cell,
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def all_rows(table: Table) -> list[tuple[int, list[str]]]:
    return list(table.rows())


def problem(path: Path, **kw: Any) -> FileProblem:
    with pytest.raises(FileProblem) as exc:
        open_table(path, **kw)
    return exc.value


CHINESE = "工号,姓名,部门\nE001,张三,研发部\nE002,李四,市场部\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (CHINESE.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + CHINESE.encode("utf-8"), "utf-8-sig"),
        (CHINESE.encode("gbk"), "gb18030"),
    ],
)
def test_csv_encodings(tmp_path: Path, data: bytes, encoding: str) -> None:
    table = open_table(write(tmp_path, "people.csv", data))
    assert table.encoding == encoding
    assert table.header == ["工号", "姓名", "部门"]  # no BOM left on the first name
    assert table.size == len(data)
    assert all_rows(table) == [(2, ["E001", "张三", "研发部"]), (3, ["E002", "李四", "市场部"])]
    assert table.bytes_read == table.size


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # "𠀀" (outside the BMP) and "€" have no GBK code but do have GB18030 ones.
    text = "name,note\n𠀀,€ 5\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    table = open_table(write(tmp_path, "x.csv", text.encode("gb18030")))
    assert table.encoding == "gb18030"
    assert all_rows(table) == [(2, ["𠀀", "€ 5"])]


def test_bytes_in_no_known_encoding_are_refused(tmp_path: Path) -> None:
    data = "name,city\nJosé,Zürich\n".encode("latin-1") + b"\xff\x80,\n"
    for enc in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(enc)
    err = problem(write(tmp_path, "latin.csv", data))
    assert err.code == "encoding"
    assert "UTF-8" in err.message and "GB18030" in err.message


def test_utf16_is_refused_with_advice(tmp_path: Path) -> None:
    err = problem(write(tmp_path, "u.csv", "a\tb\n1\t2\n".encode("utf-16")))
    assert err.code == "encoding"
    assert "UTF-16" in err.message


def test_bad_bytes_after_the_sample_name_the_row(tmp_path: Path, monkeypatch: Any) -> None:
    from baton.imports import readers

    monkeypatch.setattr(readers, "SAMPLE_BYTES", 64)  # keep the file small
    lines = ["id,name"] + [f"{i},name{i}" for i in range(1, 50)]
    data = ("\n".join(lines) + "\n").encode() + "50,张三\n".encode("gbk") + b"51,ok\n"
    table = open_table(write(tmp_path, "mixed.csv", data))
    assert table.encoding == "utf-8"
    with pytest.raises(FileProblem) as exc:
        all_rows(table)
    assert exc.value.code == "encoding"
    assert "Row 51 " in exc.value.message and "UTF-8" in exc.value.message


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["id", "name", "amount"]) + "\n"
    text += delimiter.join(["1", '"Wang, Fang"', "3,5"]) + "\n"
    table = open_table(write(tmp_path, "d.csv", text.encode()))
    assert table.header == ["id", "name", "amount"]
    [(number, cells)] = all_rows(table)
    assert number == 2
    if delimiter == ",":
        assert cells == ["1", "Wang, Fang", "3"]  # the unquoted "3,5" is two cells: cut to width
    else:
        assert cells == ["1", "Wang, Fang", "3,5"]


def test_quoted_newline_blank_lines_and_row_numbers(tmp_path: Path) -> None:
    data = (
        b"\n"  # a blank line before the header
        b"id , name,address\r\n"
        b'1,  Li  ,"Line one\r\nLine two"\r\n'
        b"\r\n"
        b" , , \r\n"  # only spaces: blank
        b"2,Zhao\r\n"  # short row: padded
        b"3,Sun,Beijing,extra\r\n"  # long row: cut
    )
    table = open_table(write(tmp_path, "q.csv", data))
    assert table.header == ["id", "name", "address"]
    assert all_rows(table) == [
        (3, ["1", "Li", "Line one\r\nLine two"]),
        (6, ["2", "Zhao", ""]),
        (7, ["3", "Sun", "Beijing"]),
    ]
    # rows() can be read again from the start.
    assert [n for n, _ in table.rows()] == [3, 6, 7]


def test_xlsx_values_become_text(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "员工"
    ws.append(["工号", "姓名", "入职日期", "打卡", "工资", "系数", "在职", "备注"])
    ws.append(
        [
            1001,
            "张三",
            dt.date(2024, 3, 1),
            dt.datetime(2024, 3, 1, 9, 30, 15),
            12000.0,
            0.125,
            True,
            None,
        ]
    )
    ws.append([])
    ws.append(["1002", "  李四 ", dt.datetime(2023, 1, 2), dt.time(18, 5), 1e-05, -2.5, False])
    wb.create_sheet("Other").append(["x"])
    p = tmp_path / "people.xlsx"
    wb.save(p)

    table = open_table(p)
    assert table.encoding == "xlsx"
    assert table.header == ["工号", "姓名", "入职日期", "打卡", "工资", "系数", "在职", "备注"]
    assert all_rows(table) == [
        (2, ["1001", "张三", "2024-03-01", "2024-03-01 09:30:15", "12000", "0.125", "true", ""]),
        (4, ["1002", "李四", "2023-01-02", "18:05:00", "0.00001", "-2.5", "false", ""]),
    ]
    assert table.bytes_read == table.size


def test_xlsx_sheet_choice_and_content_sniffing(tmp_path: Path) -> None:
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "Summary"
    first.append(["only a title"])
    people = wb.create_sheet("People")
    people.append(["id", "name"])
    people.append([1, "Ma"])
    p = tmp_path / "export.csv"  # misnamed: it is a workbook
    wb.save(p)

    assert problem(p).code == "no_rows"  # the first sheet has a header only
    table = open_table(p, sheet="People")
    assert (table.encoding, table.header) == ("xlsx", ["id", "name"])
    assert all_rows(table) == [(2, ["1", "Ma"])]

    err = problem(p, sheet="Nope")
    assert err.code == "sheet"
    assert "Summary" in err.message and "People" in err.message


def test_old_xls_and_other_archives_are_refused(tmp_path: Path) -> None:
    xls = write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    err = problem(xls)
    assert err.code == "xls"
    assert ".xlsx" in err.message and "CSV" in err.message

    import zipfile

    z = tmp_path / "doc.csv"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("word/document.xml", "<x/>")
    assert problem(z).code == "unsupported"
    assert problem(write(tmp_path, "cut.xlsx", b"PK\x03\x04garbage")).code == "unreadable"


def test_empty_header_only_and_bad_headers(tmp_path: Path) -> None:
    assert problem(write(tmp_path, "a.csv", b"")).code == "empty"
    assert problem(write(tmp_path, "b.csv", b"\xef\xbb\xbf\r\n\r\n")).code == "empty"
    assert problem(write(tmp_path, "c.csv", b"id,name\r\n\r\n")).code == "no_rows"

    err = problem(write(tmp_path, "d.csv", b"id,name,ID,name\n1,a,2,b\n"))
    assert err.code == "header"
    assert "\u201cname\u201d" in err.message and "ID" not in err.message

    err = problem(write(tmp_path, "e.csv", b"id,,name,\n1,x,a,\n"))
    assert err.code == "header"
    assert "column B" in err.message

    # Trailing unnamed columns are formatting, not columns.
    assert open_table(write(tmp_path, "f.csv", b"id,name,,\n1,a,,\n")).header == ["id", "name"]


def test_too_large_file_is_refused_before_reading(tmp_path: Path, settings: Any) -> None:
    p = tmp_path / "huge.csv"
    with open(p, "wb") as f:
        f.truncate(2 * 1024**3)  # sparse: no disk used, and all NULs if it were read
    err = problem(p)
    assert err.code == "too_large"
    assert "2.0\xa0GB" in err.message

    settings.BATON_IMPORT_MAX_BYTES = 10
    err = problem(write(tmp_path, "small.csv", b"id,name\n1,a\n"))
    assert err.code == "too_large"
    assert "10\xa0bytes" in err.message


def test_missing_file(tmp_path: Path) -> None:
    assert problem(tmp_path / "gone.csv").code == "missing"


def test_large_csv_is_streamed(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    with open(p, "w", encoding="utf-8", newline="") as f:
        f.write("id,name,department,note\n")
        for i in range(200_000):
            f.write(f"{i},员工{i},研发部,some note text {i}\n")
    size = p.stat().st_size

    table = open_table(p)
    progress = []
    tracemalloc.start()
    try:
        count = 0
        last = 0
        for number, _cells in table.rows():
            count += 1
            last = number
            if count % 50_000 == 0:
                progress.append(table.bytes_read)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, last) == (200_000, 200_001)
    assert peak < size / 4
    assert progress == sorted(progress) and 0 < progress[0] < size
    assert table.bytes_read == size


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("=1+1", True),
        ('=HYPERLINK("http://x","y")', True),
        ("@SUM(A1)", True),
        ("+cmd|' /C calc'!A0", True),
        ("-A1", True),
        ("\tx", True),
        ("\rx", True),
        ("+86 138 0000 0000", False),
        ("+8613800000000", False),
        ("-12.5", False),
        ("-.5", False),
        ("- item", False),
        ("-", False),
        ("-2+3", False),
        ("plain", False),
        ("", False),
        ("a=b", False),
    ],
)
def test_looks_like_formula(text: str, formula: bool) -> None:
    assert looks_like_formula(text) is formula


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-5", "@x", "plain", "'quoted", "\tx"])
def test_safe_cell_round_trip(text: str) -> None:
    escaped = safe_cell(text)
    assert escaped == (text if text in ("plain", "'quoted") else "'" + text)
    assert unescape_cell(escaped) == text
    assert export_safe_cell is safe_cell  # the audit export keeps its old name
    assert safe_cell(5) == 5


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (12, "12"),
        (12.0, "12"),
        (0.1, "0.1"),
        (1.5e-07, "0.00000015"),
        (1e20, "100000000000000000000"),
        (True, "true"),
        (dt.datetime(2024, 5, 6, 10, 29, 59, 999_999), "2024-05-06 10:30:00"),
        (dt.datetime(2024, 5, 6), "2024-05-06"),
        (dt.date(2024, 5, 6), "2024-05-06"),
        (dt.time(7, 5, 3), "07:05:03"),
        (dt.timedelta(hours=30, minutes=5), "30:05:00"),
        ("  x ", "x"),
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text
