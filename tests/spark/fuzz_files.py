"""A seeded generator of bad long-format CSV files for the fuzz suites (issue 16):
mutations of a small good file (a header and a few lines) at every level: the header
(order, missing, repeated, renamed columns, no header), the rows (field counts, quotes,
embedded line breaks, control characters, huge fields, odd numbers and timestamps,
cancellations, repeats), the lines (blank and whitespace-only lines, CRLF/CR ends), the
bytes (BOM, UTF-16, Latin-1, NUL) and the container (gzip cut short, a ``.gz`` that is
not gzip, gzip under a plain name, several gzip members).

Each :class:`FuzzFile` carries its own expected record count, computed here from the
bytes written and nothing else: the physical lines of the (uncompressed) text, less the
lines Spark's CSV reader treats as blank (every character at most U+0020: Java's
``String.trim``), less the first remaining line (the header). A UTF-8 byte-order mark is
a character above U+0020, so a line holding only the mark is not blank.
"""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SEED = 16
COUNT = 1000


def benign(mutations: tuple[str, ...]) -> bool:
    """Whether ``mutations`` change the form of a file but none of its values (column
    order, blank lines, line ends, a BOM, gzip in one or several members): every record
    of such a file is accepted."""
    whole = ("container:gzip", "container:gzip-members")
    return all(
        m.startswith(("reorder", "blank-lines", "newline:", "bom")) or m in whole for m in mutations
    )


HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "StoreID",
    "Country",
]
MAPPED = ("InvoiceNo", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID")
MAPPED += ("StoreID",)
ITEMS = ("bread", "milk", "eggs", "butter", "jam", "tea", "coffee")
BAD_NUMBERS = (
    "1e309", "-1e309", "Infinity", "-Infinity", "NaN", "nan", "inf", "2d", "2f", "2D",
    "0x1A", "0x1p3", "1_000", "1,5", "", " ", "--1", "+", ".", "1e", "e5", "١٢", "1\x002",
    "\x002", "2\x00", "0", "-3", "0.0", "1.5.2", "12abc", "$3", "３",
)  # fmt: skip
BAD_TIMESTAMPS = (
    "", "not-a-date", "2024-13-01 10:00:00", "2024-02-30 10:00:00", "24:00", "2024/03/01",
    "2024-03-01 25:61:00", "1/1/99999 1:00", "2024-03-01T10:00:00+25:00", "\x00",
    "2024-03-01\x0010:00:00", "0000-00-00 00:00:00", "yesterday",
)  # fmt: skip
CONTROL = "".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 127, 0x85, 0x9F]))
BLANKS = ("", " ", "\t", "  \t ", "\x00", "\x0b\x0c", " \x1f ", "\x00\x00 ", "\x01")


@dataclass
class Doc:
    """A file before it is written: header and rows as raw cell text (cells are joined by
    the delimiter as they are: a mutation that wants quotes writes them)."""

    header: list[str]
    rows: list[list[str]]
    has_header: bool = True
    extra_lines: list[tuple[int, str]] = field(default_factory=list)
    """(position among the text lines, line) inserted after rendering (blank lines...)."""
    newline: str = "\n"
    mixed_newlines: bool = False
    final_newline: bool = True
    bom: bool = False
    encoding: str = "utf-8"
    byte_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)
    container: str = "plain"
    """plain, gzip, cut-gzip, fake-gzip, gzip-no-suffix, gzip-members, gzip-trailing,
    empty-gzip"""


@dataclass(frozen=True)
class FuzzFile:
    name: str
    data: bytes
    """The bytes written to the file."""
    text: bytes
    """The (uncompressed) text bytes: what the records are counted from."""
    mutations: tuple[str, ...]

    @property
    def expected_records(self) -> int:
        return expected_records(self.text)


UTF8_BOM = b"\xef\xbb\xbf"


def expected_records(text: bytes) -> int:
    """Data records Spark's CSV reader (multiLine off, header on) makes of ``text``; a
    UTF-8 byte-order mark at the very start is skipped (Hadoop's line reader drops it)."""
    lines = re.split(rb"\r\n|\r|\n", text.removeprefix(UTF8_BOM))
    filled = [line for line in lines if any(b > 0x20 for b in line)]
    return max(len(filled) - 1, 0)


def good_rows(rng: random.Random, file_no: int) -> list[list[str]]:
    rows = []
    for t in range(rng.randint(1, 3)):
        tx = f"{file_no:05d}{t}"
        ts = f"2024-03-0{1 + rng.randrange(3)} {8 + rng.randrange(10):02d}:{rng.randrange(60):02d}:00"
        for item in rng.sample(ITEMS, rng.randint(1, 3)):
            rows.append(
                [
                    tx,
                    f"S{ITEMS.index(item)}",
                    item,
                    str(rng.randint(1, 5)),
                    ts,
                    f"{rng.randint(1, 900) / 100:.2f}",
                    f"C{rng.randrange(50)}",
                    f"ST{rng.randrange(3)}",
                    rng.choice(("UK", "FR", "DE")),
                ]
            )
    return rows


# --- mutations --------------------------------------------------------------------------
# each takes (rng, doc) and changes doc; returns a short label


def _col(doc: Doc, name: str) -> int | None:
    return doc.header.index(name) if name in doc.header else None


def _row(rng: random.Random, doc: Doc) -> list[str] | None:
    return rng.choice(doc.rows) if doc.rows else None


ORDERS = tuple(random.Random(k).sample(range(len(HEADER)), len(HEADER)) for k in range(4))
"""A few column orders (the exports of a few tills), not one per file: each layout is a
read of its own in Spark, so a thousand orders would cost minutes, not coverage."""


def m_reorder(rng: random.Random, doc: Doc) -> str:
    order = [i for i in rng.choice(ORDERS) if i < len(doc.header)]
    order += [i for i in range(len(doc.header)) if i not in order]
    doc.header = [doc.header[i] for i in order]
    doc.rows = [[r[i] if i < len(r) else "" for i in order] for r in doc.rows]
    return "reorder"


def m_drop_column(rng: random.Random, doc: Doc) -> str:
    i = rng.randrange(len(doc.header))
    name = doc.header.pop(i)
    doc.rows = [r[:i] + r[i + 1 :] for r in doc.rows]
    return f"drop-column:{name}"


def m_duplicate_column(rng: random.Random, doc: Doc) -> str:
    name = rng.choice(doc.header)
    doc.header.append(name if rng.random() < 0.7 else rng.choice((name.lower(), name.upper())))
    for r in doc.rows:
        r.append(rng.choice(("1", "x", "")))
    return f"duplicate-column:{name}"


def m_rename_column(rng: random.Random, doc: Doc) -> str:
    i = rng.randrange(len(doc.header))
    old = doc.header[i]
    doc.header[i] = rng.choice(
        (
            old.lower(),
            old.upper(),
            f" {old} ",
            f'"{old}"',
            old + "_",
            "",
            "Stock`Code",
            "a.b",
            "é",
            "_c0",
            "_corrupt",
            "_source",
            "_metadata",
            "x" * 300,
            old.replace("o", "0"),
            old + "\x00",
        )
    )
    return f"rename-column:{old}->{doc.header[i]!r}"


def m_case(rng: random.Random, doc: Doc) -> str:
    i = rng.randrange(len(doc.header))
    old = doc.header[i]
    doc.header[i] = rng.choice((old.lower(), old.upper()))
    return f"case:{old}->{doc.header[i]}"


def m_no_header(rng: random.Random, doc: Doc) -> str:
    doc.has_header = False
    return "no-header"


def m_header_only(rng: random.Random, doc: Doc) -> str:
    doc.rows = []
    return "header-only"


def m_extra_column(rng: random.Random, doc: Doc) -> str:
    doc.header.append(rng.choice(("Extra", "Note", "Country2", "Σ")))
    for r in doc.rows:
        r.append(rng.choice(("a", "", "b,c", '"q,r"')))
    return "extra-column"


def m_field_count(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None:
        return "field-count:none"
    k = rng.choice((-3, -1, 1, 2, 10))
    if k < 0:
        del r[k:]
    else:
        r.extend(["z"] * k)
    return f"field-count:{k}"


def m_unbalanced_quote(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None:
        return "quote:none"
    i = rng.randrange(len(r))
    r[i] = rng.choice(('"' + r[i], r[i] + '"', '"' + r[i] + '"x', 'a"b', '"'))
    return "unbalanced-quote"


def m_embedded_newline(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None or len(r) < 3:
        return "embedded-newline:none"
    i = rng.randrange(len(r))
    r[i] = '"' + r[i][:2] + rng.choice(("\n", "\r\n", "\r", "\n\n", "\n \n")) + r[i][2:] + '"'
    return "embedded-newline"


def m_quoted_delimiter(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None or len(r) < 3:
        return "quoted:none"
    r[2] = rng.choice(('"a,b"', '"say ""hi"""', '""', '" "'))
    return "quoted-delimiter"


def m_control_chars(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None:
        return "control:none"
    i = rng.randrange(len(r))
    c = rng.choice(CONTROL)
    pos = rng.randrange(len(r[i]) + 1)
    r[i] = r[i][:pos] + c + r[i][pos:]
    return f"control:U+{ord(c):04X}"


def m_huge_field(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None:
        return "huge:none"
    i = rng.randrange(len(r))
    n = rng.choice((201, 1001, 5000, 100_000))
    r[i] = rng.choice("xé€") * n
    return f"huge:{i}:{n}"


def m_bad_number(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    col = _col(doc, rng.choice(("Quantity", "UnitPrice")))
    if r is None or col is None or col >= len(r):
        return "number:none"
    r[col] = rng.choice(BAD_NUMBERS)
    return f"number:{r[col]!r}"


def m_empty_value(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None:
        return "empty:none"
    i = rng.randrange(len(r))
    r[i] = rng.choice(("", " ", "  ", '""'))
    return f"empty:{i}"


def m_bad_timestamp(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    col = _col(doc, "InvoiceDate")
    if r is None or col is None or col >= len(r):
        return "timestamp:none"
    r[col] = rng.choice(BAD_TIMESTAMPS)
    return "bad-timestamp"


def m_cancellation(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    col = _col(doc, "InvoiceNo")
    if r is None or col is None or col >= len(r):
        return "cancel:none"
    r[col] = "C" + r[col]
    return "cancellation"


def m_duplicate_row(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None:
        return "dup:none"
    doc.rows.insert(rng.randrange(len(doc.rows) + 1), list(r))
    return "duplicate-row"


def m_blank_lines(rng: random.Random, doc: Doc) -> str:
    for _ in range(rng.randint(1, 4)):
        doc.extra_lines.append((rng.randrange(len(doc.rows) + 3), rng.choice(BLANKS)))
    return "blank-lines"


def m_newlines(rng: random.Random, doc: Doc) -> str:
    doc.newline = rng.choice(("\r\n", "\r", "\n"))
    doc.mixed_newlines = rng.random() < 0.3
    doc.final_newline = rng.random() < 0.6
    return f"newline:{doc.newline!r}{'+mixed' if doc.mixed_newlines else ''}"


def m_bom(rng: random.Random, doc: Doc) -> str:
    doc.bom = True
    return "bom"


def m_utf16(rng: random.Random, doc: Doc) -> str:
    doc.encoding = rng.choice(("utf-16", "utf-16-le", "utf-16-be"))
    return doc.encoding


def m_latin1(rng: random.Random, doc: Doc) -> str:
    r = _row(rng, doc)
    if r is None:
        return "latin1:none"
    col = _col(doc, rng.choice(("Description", "InvoiceNo", "CustomerID", "Country")))
    if col is None or col >= len(r):
        col = 0
    r[col] = r[col] + "\udce9"  # written as the lone byte 0xE9 (Latin-1 é)
    return "latin1-byte"


def m_raw_bytes(rng: random.Random, doc: Doc) -> str:
    junk = rng.choice((b"\x00", b"\xff", b"\xc3", b"\xe2\x82", b"\x00\x00\x00", b"\x1b[31m"))

    def edit(data: bytes, pos: float = rng.random(), junk: bytes = junk) -> bytes:
        at = int(pos * len(data))
        return data[:at] + junk + data[at:]

    doc.byte_edits.append(edit)
    return f"bytes:{junk!r}"


def m_delimiter_junk(rng: random.Random, doc: Doc) -> str:
    doc.header = [";".join(doc.header)] if rng.random() < 0.5 else doc.header
    return "semicolon-header"


def m_container(rng: random.Random, doc: Doc) -> str:
    doc.container = rng.choice(
        (
            "gzip",
            "gzip",
            "cut-gzip",
            "fake-gzip",
            "gzip-no-suffix",
            "gzip-members",
            "gzip-trailing",
            "empty-gzip",
            "empty",
            "whitespace-only",
        )
    )
    return f"container:{doc.container}"


MUTATIONS: tuple[Callable[[random.Random, Doc], str], ...] = (
    m_reorder,
    m_drop_column,
    m_duplicate_column,
    m_rename_column,
    m_case,
    m_no_header,
    m_header_only,
    m_extra_column,
    m_field_count,
    m_field_count,
    m_unbalanced_quote,
    m_unbalanced_quote,
    m_embedded_newline,
    m_embedded_newline,
    m_quoted_delimiter,
    m_control_chars,
    m_control_chars,
    m_huge_field,
    m_bad_number,
    m_bad_number,
    m_empty_value,
    m_bad_timestamp,
    m_cancellation,
    m_duplicate_row,
    m_blank_lines,
    m_blank_lines,
    m_newlines,
    m_newlines,
    m_bom,
    m_utf16,
    m_latin1,
    m_raw_bytes,
    m_delimiter_junk,
    m_container,
    m_container,
)


def render(doc: Doc) -> tuple[bytes, bytes, str]:
    """(file bytes, text bytes, file suffix) of ``doc``."""
    lines = ([",".join(doc.header)] if doc.has_header else []) + [",".join(r) for r in doc.rows]
    for pos, line in sorted(doc.extra_lines, key=lambda p: p[0], reverse=True):
        lines.insert(min(pos, len(lines)), line)
    if doc.mixed_newlines:
        ends = ["\r\n", "\r", "\n"]
        text = "".join(line + ends[i % 3] for i, line in enumerate(lines))
    else:
        text = doc.newline.join(lines) + (doc.newline if doc.final_newline else "")
    if doc.bom:
        text = "\ufeff" + text
    if doc.container == "whitespace-only":
        text = " \n\t\n\x00\n"
    if doc.container in ("empty", "empty-gzip"):
        text = ""
    if doc.encoding != "utf-8":
        text = text.replace("\udce9", "\xe9")
    plain = text.encode(doc.encoding, errors="surrogateescape")
    for edit in doc.byte_edits:
        plain = edit(plain)
    c = doc.container
    if c in ("plain", "empty", "whitespace-only"):
        return plain, plain, ".csv"
    packed = gzip.compress(plain, mtime=0)
    if c == "gzip" or c == "empty-gzip":
        return packed, plain, ".csv.gz"
    if c == "cut-gzip":
        return packed[: max(1, len(packed) * 2 // 3)], plain, ".csv.gz"
    if c == "fake-gzip":
        return plain, plain, ".csv.gz"
    if c == "gzip-no-suffix":
        return packed, plain, ".csv"
    if c == "gzip-members":
        half = len(plain) // 2
        data = gzip.compress(plain[:half], mtime=0) + gzip.compress(plain[half:], mtime=0)
        return data, plain, ".csv.gz"
    if c == "gzip-trailing":
        return packed + b"garbage\n", plain, ".csv.gz"
    raise AssertionError(c)


def generate(seed: int, count: int, folder: Path) -> list[FuzzFile]:
    """``count`` files written to ``folder``, each a good file with 1-3 mutations."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(count):
        doc = Doc(header=list(HEADER), rows=good_rows(rng, n))
        labels = tuple(m(rng, doc) for m in rng.sample(MUTATIONS, rng.randint(1, 3)))
        data, text, suffix = render(doc)
        name = f"f{n:04d}{suffix}"
        (folder / name).write_bytes(data)
        out.append(FuzzFile(name, data, text, labels))
    return out
