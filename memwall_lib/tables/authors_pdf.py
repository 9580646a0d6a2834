"""A small reader for matplotlib's vector PDFs: what is drawn where, in page points.

Only the standard library (``zlib``, ``re``). It reads the uncompressed object table of a
single-page PDF written by matplotlib's pdf backend, inflates the page's content stream and
interprets the operators matplotlib emits:

- graphics state: ``q``/``Q``, ``cm`` (the CTM), colours ``RG``/``rg``/``G``/``g``, ``w``;
- paths: ``m``, ``l``, ``c``, ``re``, ``h`` painted by ``S``/``f``/``B``/``b``/``n`` (a
  ``re W n`` clip is remembered as the path's clip rectangle);
- XObject markers placed by ``cm`` + ``Do`` (matplotlib's scatter/plot markers);
- text: ``BT``/``ET``, ``Tf``, ``Td``, ``Tm``, ``Tj``, ``TJ``, decoded through the Type3
  font's ``/Differences`` glyph names, with the advance width from its ``/Widths``.

All coordinates are PDF page points (1/72 inch), origin at the bottom left. Nothing here
knows about axes or data; see :mod:`memwall_lib.tables.authors_plotted`.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

Matrix = tuple[float, float, float, float, float, float]
Colour = tuple[float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

#: Glyph names of matplotlib's DejaVu Type3 subsets that are not their own character.
GLYPH_CHARS: dict[str, str] = {
    "space": " ",
    "period": ".",
    "comma": ",",
    "colon": ":",
    "hyphen": "-",
    "minus": "-",
    "slash": "/",
    "parenleft": "(",
    "parenright": ")",
    "plus": "+",
    "quotesingle": "'",
    "percent": "%",
    "underscore": "_",
    "equal": "=",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}


def mul(m: Matrix, n: Matrix) -> Matrix:
    """The PDF matrix product ``m x n`` (``m`` applied first, then ``n``)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    """The point (x, y) mapped by ``m``."""
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


@dataclass(frozen=True)
class Marker:
    """A marker: an XObject ``name`` (or ``"path"`` for a marker drawn as a closed curve)
    centred at (x, y) points, ``size`` its width in points, with its fill colour."""

    name: str
    x: float
    y: float
    size: float
    fill: Colour


@dataclass(frozen=True)
class DrawnPath:
    """A painted path: its vertices (points), the paint (``S`` stroke, ``f`` fill, ``B``
    both), stroke/fill colours, line width (points), whether it has Bezier segments, and the
    clip rectangle (x0, y0, x1, y1) in force, if any."""

    points: tuple[tuple[float, float], ...]
    paint: str
    stroke: Colour
    fill: Colour
    width: float
    curved: bool
    clip: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class Text:
    """A string drawn at origin (x, y) points, ``size`` the font size in points, ``width``
    its advance width in points (along the baseline), ``vertical`` if rotated by 90 degrees,
    ``bold`` for a bold font, and its fill colour."""

    text: str
    x: float
    y: float
    size: float
    width: float
    vertical: bool
    bold: bool
    fill: Colour


@dataclass
class Page:
    """Everything drawn on one page."""

    width: float
    height: float
    markers: list[Marker] = field(default_factory=list)
    paths: list[DrawnPath] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)


@dataclass
class _Font:
    chars: dict[int, str]
    widths: dict[int, float]
    bold: bool


# --------------------------------------------------------------------------- file level
def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}


def _stream(obj: bytes) -> bytes:
    body = obj.split(b"stream", 1)[1].lstrip(b"\r\n").rsplit(b"endstream", 1)[0]
    return zlib.decompress(body) if b"/FlateDecode" in obj.split(b"stream", 1)[0] else body


def _ref(objs: dict[int, bytes], text: bytes, key: bytes) -> bytes:
    m = re.search(rb"/" + key + rb" (\d+) 0 R", text)
    return objs[int(m.group(1))] if m else b""


def _fonts(objs: dict[int, bytes], resources: bytes) -> dict[str, _Font]:
    out = {}
    m = re.search(rb"/Font (\d+) 0 R", resources)
    table = objs[int(m.group(1))] if m else b""
    for name, num in re.findall(rb"/(\w+) (\d+) 0 R", table):
        font = objs[int(num)]
        chars: dict[int, str] = {}
        diff = re.search(rb"/Differences \[(.*?)\]", font, re.S)
        code = 0
        for tok in diff.group(1).split() if diff else []:
            if tok.startswith(b"/"):
                glyph = tok[1:].decode()
                chars[code] = GLYPH_CHARS.get(glyph, glyph if len(glyph) == 1 else "?")
                code += 1
            else:
                code = int(tok)
        first = re.search(rb"/FirstChar (\d+)", font)
        wref = re.search(rb"/Widths (\d+) 0 R", font)
        widths: dict[int, float] = {}
        if wref and first:
            nums = objs[int(wref.group(1))].strip().strip(b"[]").split()
            widths = {int(first.group(1)) + i: float(w) for i, w in enumerate(nums)}
        out[name.decode()] = _Font(chars, widths, b"Bold" in font)
    return out


def _xobjects(objs: dict[int, bytes], resources: bytes) -> dict[str, float]:
    """XObject name -> width of its bounding box (points)."""
    m = re.search(rb"/XObject (\d+) 0 R", resources)
    out = {}
    for name, num in re.findall(rb"/(\w+) (\d+) 0 R", objs[int(m.group(1))] if m else b""):
        bbox = re.search(rb"/BBox \[ ([-\d. ]+) \]", objs[int(num)])
        x0, _, x1, _ = (float(v) for v in bbox.group(1).split()) if bbox else (0, 0, 0, 0)
        out[name.decode()] = x1 - x0
    return out


# --------------------------------------------------------------------------- content stream
_TOKEN = re.compile(rb"\((?:\\.|[^\\)])*\)|/[^\s/\[\]()<>]+|\[|\]|[-+]?\d*\.?\d+|[A-Za-z'\"*]+", re.S)


def _unescape(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        ch = raw[i]
        if ch == 0x5C and i + 1 < len(raw):
            nxt = raw[i + 1 : i + 2]
            if nxt.isdigit():
                octal = _group(rb"^[0-7]{1,3}", raw[i + 1 : i + 4], "octal escape")
                out.append(int(octal, 8))
                i += 1 + len(octal)
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(nxt, nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return bytes(out)


def _tokens(stream: bytes) -> list[object]:
    out: list[object] = []
    for tok in _TOKEN.findall(stream):
        if tok.startswith(b"("):
            out.append(_unescape(tok[1:-1]))
        elif tok.startswith(b"/") or tok in (b"[", b"]"):
            out.append(tok.decode())
        elif re.fullmatch(rb"[-+]?\d*\.?\d+", tok):
            out.append(float(tok))
        else:
            out.append(("op", tok.decode()))
    return out


def _group(pattern: bytes, data: bytes, what: str) -> bytes:
    """Group 1 (or 0) of the first match of ``pattern`` in ``data``; a ValueError naming ``what``."""
    m = re.search(pattern, data)
    if m is None:
        raise ValueError(f"not a matplotlib PDF page as expected: no {what}")
    return m.group(1) if m.re.groups else m.group(0)


def read_page(pdf: str | Path) -> Page:
    """Interpret the single page of the matplotlib PDF at ``pdf`` (see module docstring)."""
    data = Path(pdf).read_bytes()
    objs = _objects(data)
    page_obj = next(v for v in objs.values() if re.search(rb"/Type /Page\b(?!s)", v))
    box = [float(v) for v in _group(rb"/MediaBox \[ ([-\d. ]+) \]", page_obj, "MediaBox").split()]
    resources = _ref(objs, page_obj, b"Resources")
    fonts, xobjs = _fonts(objs, resources), _xobjects(objs, resources)
    page = Page(box[2] - box[0], box[3] - box[1])
    content = _stream(objs[int(_group(rb"/Contents (\d+) 0 R", page_obj, "page contents"))])

    ctm, stroke, fill, width = IDENTITY, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 1.0
    clip: tuple[float, float, float, float] | None = None
    stack: list[tuple] = []
    path: list[tuple[float, float]] = []
    curved, pending_clip = False, False
    tm, font, size = IDENTITY, "", 0.0
    args: list[object] = []
    array: list[object] | None = None

    def show(items: list[object]) -> None:
        nonlocal tm
        f = fonts[font]
        text, adv = "", 0.0
        for it in items:
            if isinstance(it, bytes):
                text += "".join(f.chars.get(b, chr(b)) for b in it)
                adv += sum(f.widths.get(b, 0.0) for b in it) / 1000 * size
            else:
                adv -= float(it) / 1000 * size  # type: ignore[arg-type]  # a number token
        m = mul(tm, ctm)
        x, y = apply(m, 0, 0)
        scale = (m[0] ** 2 + m[1] ** 2) ** 0.5
        page.texts.append(Text(text, x, y, size * scale, adv * scale, abs(m[0]) < 1e-9, f.bold, fill))
        tm = mul((1, 0, 0, 1, adv, 0), tm)

    for tok in _tokens(content):
        if tok == "[":
            array = []
            continue
        if tok == "]":
            args.append(array)
            array = None
            continue
        if array is not None:
            array.append(tok)
            continue
        if not (isinstance(tok, tuple) and tok[0] == "op"):
            args.append(tok)
            continue
        op = tok[1]
        a = [v for v in args if isinstance(v, float)]
        if op == "q":
            stack.append((ctm, stroke, fill, width, clip))
        elif op == "Q":
            ctm, stroke, fill, width, clip = stack.pop()
        elif op == "cm":
            ctm = mul(tuple(a[-6:]), ctm)  # type: ignore[arg-type]
        elif op in ("RG", "rg", "G", "g"):
            col = tuple(a[-3:]) if op in ("RG", "rg") else (a[-1],) * 3
            if op in ("RG", "G"):
                stroke = col  # type: ignore[assignment]
            else:
                fill = col  # type: ignore[assignment]
        elif op == "w":
            width = a[-1]
        elif op == "m" or op == "l":
            path.append(apply(ctm, a[-2], a[-1]))
        elif op == "c":
            path.append(apply(ctm, a[-2], a[-1]))
            curved = True
        elif op == "re":
            x, y, w, h = a[-4:]
            path += [apply(ctm, x, y), apply(ctm, x + w, y), apply(ctm, x + w, y + h), apply(ctm, x, y + h)]
        elif op == "W":
            pending_clip = True
        elif op in ("S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"):
            if pending_clip and path:
                xs, ys = [p[0] for p in path], [p[1] for p in path]
                clip = (min(xs), min(ys), max(xs), max(ys))
            elif op != "n" and path:
                paint = {"S": "S", "s": "S", "f": "f", "F": "f", "f*": "f"}.get(op, "B")
                page.paths.append(DrawnPath(tuple(path), paint, stroke, fill, width, curved, clip))
            path, curved, pending_clip = [], False, False
        elif op == "Do":
            name = str(args[-1]).lstrip("/")
            x, y = apply(ctm, 0, 0)
            page.markers.append(Marker(name, x, y, xobjs.get(name, 0.0), fill))
        elif op == "BT":
            tm = IDENTITY
        elif op == "Tf":
            font, size = str(args[-2]).lstrip("/"), a[-1]
        elif op == "Td":
            tm = mul((1, 0, 0, 1, a[-2], a[-1]), tm)
        elif op == "Tm":
            tm = tuple(a[-6:])  # type: ignore[assignment]
        elif op == "Tj":
            show([args[-1]])
        elif op == "TJ":
            show(args[-1])  # type: ignore[arg-type]
        args = []
    return page
