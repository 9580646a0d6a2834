"""What is drawn where on a matplotlib vector PDF page, in page points.

pikepdf opens the file, resolves its resources and splits the page's content stream into
operators and operands (:func:`pikepdf.parse_content_stream`); this module only tracks the
state those operators change, for the operators matplotlib's pdf backend emits:

- graphics state: ``q``/``Q``, ``cm`` (the CTM), colours ``RG``/``rg``/``G``/``g``, ``w``;
- paths: ``m``, ``l``, ``c``, ``re``, ``h`` painted by ``S``/``f``/``B``/``b``/``n`` (a
  ``re W n`` clip is remembered as the path's clip rectangle);
- XObject markers placed by ``cm`` + ``Do`` (matplotlib's scatter/plot markers);
- text: ``BT``, ``Tf``, ``Td``, ``Tm``, ``Tj``, ``TJ``, decoded through the Type3 font's
  ``/Differences`` glyph names, with the advance width from its ``/Widths``.

All coordinates are PDF page points (1/72 inch), origin at the bottom left. Nothing here
knows about axes or data; see :mod:`memwall_lib.authors.plotted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import pikepdf

Colour = tuple[float, float, float]
Box = tuple[float, float, float, float]

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

PAINTS = {"S": "S", "s": "S", "f": "f", "F": "f", "f*": "f", "B": "B", "B*": "B", "b": "B", "b*": "B", "n": "n"}


@dataclass(frozen=True)
class Marker:
    """A marker placed by ``Do``: centred at (x, y) points, with its fill colour."""

    x: float
    y: float
    fill: Colour


@dataclass(frozen=True)
class DrawnPath:
    """A painted path: its vertices (points), the paint (``S`` stroke, ``f`` fill, ``B``
    both), stroke/fill colours, line width (points), whether it has Bezier segments, and the
    clip rectangle (x0, y0, x1, y1) in points in force, if any."""

    points: tuple[tuple[float, float], ...]
    paint: str
    stroke: Colour
    fill: Colour
    width: float
    curved: bool
    clip: Box | None


@dataclass(frozen=True)
class Text:
    """A string drawn at origin (x, y) points, ``size`` the font size in points, ``width``
    its advance width in points (along the baseline), ``vertical`` if rotated by 90 degrees,
    and its fill colour."""

    text: str
    x: float
    y: float
    size: float
    width: float
    vertical: bool
    fill: Colour


@dataclass
class Page:
    """Everything drawn on one page, in drawing order."""

    markers: list[Marker] = field(default_factory=list)
    paths: list[DrawnPath] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)


@dataclass(frozen=True)
class _Font:
    """A Type3 font's text per character code and advance widths."""

    chars: dict[int, str]  # character code -> text
    widths: dict[int, float]  # character code -> advance in 1/1000 of the font size


def _font(font: pikepdf.Object) -> _Font:
    """Codes, characters and widths of a Type3 font from its ``/Differences`` and ``/Widths``."""
    chars, code = {}, 0
    encoding = font.get("/Encoding")
    for item in encoding.get("/Differences", []) if isinstance(encoding, pikepdf.Dictionary) else []:
        if isinstance(item, pikepdf.Name):
            glyph = str(item)[1:]
            chars[code] = GLYPH_CHARS.get(glyph, glyph if len(glyph) == 1 else "?")
            code += 1
        else:
            code = int(item)
    first = int(font.get("/FirstChar", 0))
    return _Font(chars, {first + i: float(w) for i, w in enumerate(font.get("/Widths", []))})


@dataclass
class _State:
    """The graphics state saved by ``q`` and restored by ``Q``."""

    ctm: pikepdf.Matrix = field(default_factory=pikepdf.Matrix)
    stroke: Colour = (0.0, 0.0, 0.0)
    fill: Colour = (0.0, 0.0, 0.0)
    width: float = 1.0
    clip: Box | None = None


class _Interpreter:
    """Runs a page's content stream, appending what it paints to :attr:`page`."""

    def __init__(self, fonts: dict[str, _Font]) -> None:
        self.fonts, self.page = fonts, Page()
        self.gs = _State()
        self.stack: list[_State] = []
        self.path: list[tuple[float, float]] = []
        self.curved = self.pending_clip = False
        self.tm, self.font, self.size = pikepdf.Matrix(), "", 0.0

    def point(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) in user space mapped to page points by the CTM."""
        return self.gs.ctm.transform((x, y))

    def paint(self, op: str) -> None:
        """End the current path: a clip (after ``W``) or a painted :class:`DrawnPath`."""
        if self.pending_clip and self.path:
            xs, ys = [p[0] for p in self.path], [p[1] for p in self.path]
            self.gs.clip = (min(xs), min(ys), max(xs), max(ys))
        elif op != "n" and self.path:
            gs = self.gs
            self.page.paths.append(
                DrawnPath(tuple(self.path), PAINTS[op], gs.stroke, gs.fill, gs.width, self.curved, gs.clip)
            )
        self.path, self.curved, self.pending_clip = [], False, False

    def show(self, operand: object) -> None:
        """``Tj`` (a string) or ``TJ`` (an array of strings and adjustments): a :class:`Text`
        at the text position, which then advances by the text's width."""
        font, text, adv = self.fonts[self.font], "", 0.0
        for it in list(operand) if isinstance(operand, pikepdf.Array) else [operand]:
            if isinstance(it, pikepdf.String):
                codes = bytes(it)
                text += "".join(font.chars.get(b, chr(b)) for b in codes)
                adv += sum(font.widths.get(b, 0.0) for b in codes) / 1000 * self.size
            elif isinstance(it, int | Decimal):  # a TJ adjustment, in 1/1000 of the font size
                adv -= float(it) / 1000 * self.size
            else:
                raise TypeError(f"text operand {it!r}")
        m = self.tm @ self.gs.ctm
        scale = (m.a**2 + m.b**2) ** 0.5
        self.page.texts.append(Text(text, m.e, m.f, self.size * scale, adv * scale, abs(m.a) < 1e-9, self.gs.fill))
        self.tm = pikepdf.Matrix(1, 0, 0, 1, adv, 0) @ self.tm

    def run(self, op: str, args: list[object]) -> None:
        """Apply one operator with its operands (pikepdf's: int or Decimal numbers, Name, String, Array)."""
        a = [float(v) for v in args if isinstance(v, int | Decimal)]
        gs = self.gs
        if op == "q":
            self.stack.append(replace(gs))
        elif op == "Q":
            self.gs = self.stack.pop()
        elif op == "cm":
            gs.ctm = pikepdf.Matrix(*a) @ gs.ctm
        elif op in ("RG", "G"):
            gs.stroke = (a[0], a[1], a[2]) if op == "RG" else (a[0],) * 3
        elif op in ("rg", "g"):
            gs.fill = (a[0], a[1], a[2]) if op == "rg" else (a[0],) * 3
        elif op == "w":
            gs.width = a[0]
        elif op in ("m", "l", "c"):
            self.path.append(self.point(a[-2], a[-1]))
            self.curved |= op == "c"
        elif op == "re":
            x, y, w, h = a
            self.path += [self.point(x, y), self.point(x + w, y), self.point(x + w, y + h), self.point(x, y + h)]
        elif op == "W":
            self.pending_clip = True
        elif op in PAINTS:
            self.paint(op)
        elif op == "Do":
            self.page.markers.append(Marker(*self.point(0, 0), gs.fill))
        elif op == "BT":
            self.tm = pikepdf.Matrix()
        elif op == "Tf":
            self.font, self.size = str(args[0])[1:], a[-1]
        elif op == "Td":
            self.tm = pikepdf.Matrix(1, 0, 0, 1, a[0], a[1]) @ self.tm
        elif op == "Tm":
            self.tm = pikepdf.Matrix(*a)
        elif op in ("Tj", "TJ"):
            self.show(args[0])


def read_page(pdf: str | Path) -> Page:
    """Interpret the single page of the matplotlib PDF at ``pdf`` (see module docstring).
    Raises ValueError naming the file if it is not a one-page PDF, or if an operator has
    operands (or a font) other than matplotlib writes."""
    try:
        with pikepdf.open(pdf) as doc:
            if len(doc.pages) != 1:
                raise ValueError(f"{pdf}: expected a single-page matplotlib PDF, found {len(doc.pages)} pages")
            page = doc.pages[0]
            fonts = {str(k)[1:]: _font(f) for k, f in page.resources.get("/Font", {}).items()}
            interp = _Interpreter(fonts)
            for instruction in pikepdf.parse_content_stream(page):
                interp.run(str(instruction.operator), list(instruction.operands))
    except pikepdf.PdfError as e:
        raise ValueError(f"{pdf}: expected a matplotlib vector PDF, pikepdf cannot read it ({e})") from e
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(
            f"{pdf}: expected a matplotlib content stream (operators with their usual operands, fonts in /Resources), got {e!r}"
        ) from e
    return interp.page
