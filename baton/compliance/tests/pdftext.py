"""Reading the text back out of a PDF that WeasyPrint wrote — for tests that check what a
downloaded document says, without a PDF library or poppler on the machine.

Enough of PDF for WeasyPrint's output: indirect objects (also inside object streams), Flate
streams, pages with their font resources, Type0 fonts with a ToUnicode CMap (bfchar / bfrange),
and the text operators `Tf`, `Tm`, `Tj`, `TJ`. A new line starts where the text matrix moves
to another baseline.
"""

from __future__ import annotations

import re
import zlib

OBJ = re.compile(rb"(\d+)\s+0\s+obj\s*(.*?)\s*endobj", re.S)
STREAM = re.compile(rb"^(.*?)stream\r?\n(.*)\r?\n?endstream\s*$", re.S)
REF = re.compile(rb"/([A-Za-z0-9_.+-]+)\s+(\d+)\s+0\s+R")


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number → (dictionary text, decoded stream or None)."""
    out: dict[int, tuple[bytes, bytes | None]] = {}
    for m in OBJ.finditer(pdf):
        body = m.group(2)
        s = STREAM.match(body)
        if s is None:
            out[int(m.group(1))] = (body, None)
            continue
        head, data = s.group(1), s.group(2)
        if b"/FlateDecode" in head:
            data = zlib.decompressobj().decompress(data)
        out[int(m.group(1))] = (head, data)
    for head, data in list(out.values()):
        if data is None or b"/ObjStm" not in head:
            continue
        n = int(re.search(rb"/N\s+(\d+)", head).group(1))  # type: ignore[union-attr]
        first = int(re.search(rb"/First\s+(\d+)", head).group(1))  # type: ignore[union-attr]
        nums = [int(x) for x in data[:first].split()]
        pairs = [(nums[2 * i], nums[2 * i + 1]) for i in range(n)]
        for i, (num, off) in enumerate(pairs):
            end = pairs[i + 1][1] if i + 1 < n else len(data) - first
            out.setdefault(num, (data[first + off : first + end].strip(), None))
    return out


def _ref(text: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+)\s+0\s+R", text)
    return int(m.group(1)) if m else None


def _cmap(data: bytes) -> dict[int, str]:
    table: dict[int, str] = {}

    def uni(hexs: bytes) -> str:
        raw = bytes.fromhex(hexs.decode())
        return raw.decode("utf-16-be", errors="replace")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            table[int(src, 16)] = uni(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(
            rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
        ):
            base = int(dst, 16)
            for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                table[code] = chr(base + k)
    return table


def _dict_of(objects: dict[int, tuple[bytes, bytes | None]], text: bytes, key: bytes) -> bytes:
    """The dictionary under `key` in `text`: inline (<< … >>) or through a reference."""
    ref = _ref(text, key)
    if ref is not None:
        return objects.get(ref, (b"", None))[0]
    m = re.search(rb"/" + key + rb"\s*<<(.*?)>>", text, re.S)
    return m.group(1) if m else b""


TOKEN = re.compile(
    rb"/([A-Za-z0-9_.+-]+)\s+[\d.]+\s+Tf"  # font
    rb"|([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+Tm"
    rb"|<([0-9a-fA-F]*)>"  # hex string (Identity-H: 2 bytes a glyph)
)


def pdf_lines(pdf: bytes) -> list[str]:
    """The PDF's text, one entry a baseline, in page and drawing order."""
    objects = _objects(pdf)
    lines: list[str] = []
    for head, _data in objects.values():
        if not re.search(rb"/Type\s*/Page(?![s\w])", head):
            continue
        resources = _dict_of(objects, head, b"Resources")
        fonts = {
            name.decode(): int(num)
            for name, num in REF.findall(_dict_of(objects, resources, b"Font"))
        }
        cmaps: dict[str, dict[int, str]] = {}
        for name, num in fonts.items():
            to_unicode = _ref(objects.get(num, (b"", None))[0], b"ToUnicode")
            stream = objects.get(to_unicode or -1, (b"", None))[1]
            cmaps[name] = _cmap(stream or b"")
        contents = re.search(rb"/Contents\s+(\[[^\]]*\]|\d+\s+0\s+R)", head)
        refs = (
            [int(n) for n in re.findall(rb"(\d+)\s+0\s+R", contents.group(1))] if contents else []
        )
        font, y, current = "", None, []
        for num in refs:
            stream = objects.get(num, (b"", None))[1] or b""
            for m in TOKEN.finditer(stream):
                if m.group(1):
                    font = m.group(1).decode()
                elif m.group(7) is not None:
                    if m.group(7) != y and current:
                        lines.append("".join(current))
                        current = []
                    y = m.group(7)
                elif m.group(8) is not None:
                    raw = bytes.fromhex(m.group(8).decode())
                    table = cmaps.get(font, {})
                    current.extend(
                        table.get(int.from_bytes(raw[i : i + 2], "big"), "")
                        for i in range(0, len(raw), 2)
                    )
        if current:
            lines.append("".join(current))
    return [line.strip() for line in lines if line.strip()]
