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


# --- Bounded memory: giant lines, records and sheets ------------------------------------------


def peak_while(fn: Any) -> tuple[Any, int]:
    """What fn returns or raises, and the most memory Python allocated while it ran."""
    tracemalloc.start()
    try:
        try:
            result = fn()
        except FileProblem as e:
            result = e
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_a_giant_single_line_is_refused_in_little_memory(tmp_path: Path) -> None:
    p = tmp_path / "one-line.csv"
    with open(p, "wb") as f:
        for _ in range(20):
            f.write(b"a," * (512 * 1024))  # 20 MB, no line end at all
    err, peak = peak_while(lambda: open_table(p))
    assert isinstance(err, FileProblem)
    assert err.code == "row_too_large"
    assert "Row 1 " in err.message and "1.0\xa0MB" in err.message
    assert peak < 10 * 1024**2


def test_a_giant_cell_in_the_second_row_is_refused_in_little_memory(tmp_path: Path) -> None:
    cell = b"x" * (5 * 1024**2)
    for name, row in (("quoted.csv", b'"' + cell + b'"'), ("plain.csv", cell)):
        p = write(tmp_path, name, b"id,name\r\n" + row + b",a\r\n3,b\r\n")
        err, peak = peak_while(lambda p=p: open_table(p))
        assert isinstance(err, FileProblem)
        assert (err.code, "Row 2 " in err.message) == ("row_too_large", True)
        assert peak < 10 * 1024**2


def test_a_giant_row_further_down_stops_rows(tmp_path: Path) -> None:
    data = b"id,name\n1,a\n\n" + b"3," + b"y" * (2 * 1024**2) + b"\n4,d\n"
    table = open_table(write(tmp_path, "late.csv", data))
    got = []
    with pytest.raises(FileProblem) as exc:
        for row in table.rows():
            got.append(row)
    assert got == [(2, ["1", "a"])]
    assert exc.value.code == "row_too_large" and "Row 4 " in exc.value.message


def test_an_unclosed_quote_is_refused_at_the_limit(tmp_path: Path, settings: Any) -> None:
    settings.BATON_IMPORT_MAX_ROW_BYTES = 1000
    lines = [b"id,note", b'1,"never closed'] + [b"2,more text on a line"] * 200
    table_data = b"\n".join(lines) + b"\n"
    err = problem(write(tmp_path, "open-quote.csv", table_data))
    assert err.code == "row_too_large"
    assert "Row 2 " in err.message and "1000\xa0bytes" in err.message


def test_a_quoted_multi_line_cell_counts_toward_its_row(tmp_path: Path, settings: Any) -> None:
    settings.BATON_IMPORT_MAX_ROW_BYTES = 100
    note = "\r\n".join(["line"] * 15)  # 88 bytes over 15 physical lines
    data = f'id,note\r\n1,"{note}"\r\n2,short\r\n'.encode()
    table = open_table(write(tmp_path, "fits.csv", data))
    assert all_rows(table) == [(2, ["1", note]), (3, ["2", "short"])]

    longer = "\n".join(["line"] * 25)  # 124 bytes: each line is short, the row is not
    data = f'id,note\n1,ok\n2,"{longer}"\n'.encode()
    table = open_table(write(tmp_path, "too-long.csv", data))
    with pytest.raises(FileProblem) as exc:
        all_rows(table)
    assert exc.value.code == "row_too_large" and "Row 3 " in exc.value.message


def test_rows_far_wider_than_the_header_are_refused(tmp_path: Path) -> None:
    data = b"id,name\n" + b"1,a" + b",x" * 8 + b"\n"  # 10 cells: five times the header
    data += b"2,b" + b",," * 50 + b"\n"  # empty trailing cells do not count
    data += b"3,c" + b",x" * 9 + b"\n"  # 11 cells
    table = open_table(write(tmp_path, "wide.csv", data))
    with pytest.raises(FileProblem) as exc:
        all_rows(table)
    assert exc.value.code == "too_many_cells"
    assert "Row 4 " in exc.value.message and "11" in exc.value.message
    rows = table.rows()  # the rows above it are read
    assert [next(rows), next(rows)] == [(2, ["1", "a"]), (3, ["2", "b"])]
    rows.close()


def test_a_header_with_too_many_columns_is_refused(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(2001)]
    data = (",".join(names) + "\n" + ",".join("1" * 2001) + "\n").encode()
    err = problem(write(tmp_path, "many.csv", data))
    assert err.code == "too_many_cells" and "2001" in err.message and "2000" in err.message
    # 2,000 named columns, followed by empty ones, are fine.
    data = (",".join(names[:2000]) + ",,,\n" + ",".join("1" * 2000) + "\n").encode()
    assert len(open_table(write(tmp_path, "ok.csv", data)).header) == 2000

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(names)
    ws.append([1])
    p = tmp_path / "many.xlsx"
    wb.save(p)
    assert problem(p).code == "too_many_cells"


def test_xlsx_rows_are_read_to_the_header_width(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "name", None, None])
    ws.append([1, "a", "unnamed"])
    ws.cell(row=2, column=16000, value="far right")
    ws.cell(row=3, column=16000, value="only far right")
    ws.append([3, "c"])
    p = tmp_path / "wide.xlsx"
    wb.save(p)
    table = open_table(p)
    assert table.header == ["id", "name"]
    assert all_rows(table) == [(2, ["1", "a"]), (4, ["3", "c"])]


def test_long_cells_under_the_row_limit_and_the_csv_field_limit(tmp_path: Path) -> None:
    import csv

    before = csv.field_size_limit()
    cell = "z" * 300_000  # more than csv's own default field limit (128 KiB)
    table = open_table(write(tmp_path, "long.csv", f"id,text\n1,{cell}\n".encode()))
    assert all_rows(table) == [(2, ["1", cell])]
    assert csv.field_size_limit() >= before  # raised for the process, never lowered


def test_line_ends_across_read_blocks(tmp_path: Path, monkeypatch: Any) -> None:
    from baton.imports import readers

    monkeypatch.setattr(readers, "_BLOCK_BYTES", 3)  # CRLF pairs fall across blocks
    data = b'\xef\xbb\xbfid,name\r\n1,"a\r\nb"\r\n\r\n2,\xe5\xbc\xa0\r\n'
    table = open_table(write(tmp_path, "crlf.csv", data))
    assert table.header == ["id", "name"]
    assert all_rows(table) == [(2, ["1", "a\r\nb"]), (4, ["2", "张"])]
    # Old Mac files end lines with CR alone.
    table = open_table(write(tmp_path, "cr.csv", b"id,name\r1,a\r\r2,b"))
    assert all_rows(table) == [(2, ["1", "a"]), (4, ["2", "b"])]
