"""The characters the bad-encoding rule rejects, and a proof that a whole file holds none.

Spark tests every line against a regex (``spark.clean._BAD_CHARS``): about 1.9 s of
server CPU for 1M basket lines, the largest single piece of the load. The driver already
reads each local file before Spark does (``spark.load``), and on the bytes it can show in
one fast pass that no line can fail the rule; the rule is then left out of the plan.
Where the proof is not certain (an encoding not listed here, a byte that does not
decode) it answers False and Spark applies the rule as before: the proof only ever skips
work, never decides what is rejected.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, cast

BAD_CHARS = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""U+FFFD (bytes the reader could not decode) and the C0/C1 control characters but tab,
line feed and carriage return: what ``spark.clean._BAD_CHARS`` matches, for Python's
``re``."""

CHUNK_BYTES = 1 << 17
"""Read size: small blocks stay in the CPU cache (16 MB blocks took three times as long)."""


def has_bad_chars(text: str) -> bool:
    """Whether ``text`` holds a character the bad-encoding rule rejects."""
    return BAD_CHARS.search(text) is not None


# Python's and Java's tables agree on these (every byte mapped, or the same bytes
# unmapped: 0x81, 0x8D, 0x8F, 0x90 and 0x9D in windows-1252); the proof is not tried for
# other charsets.
_SINGLE_BYTE = ("ascii", "latin-1", "iso8859-1", "cp1252")


def _bad_bytes(encoding: str) -> bytes | None:
    """For a single-byte charset, the bytes that decode to a rejected character or to
    nothing; None for UTF-8 and for charsets the proof does not cover."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "utf-8-sig"):
        return None
    if name not in _SINGLE_BYTE:
        raise LookupError(name)
    bad = bytearray()
    for value in range(256):
        try:
            char = bytes([value]).decode(name)
        except UnicodeDecodeError:
            bad.append(value)
            continue
        if has_bad_chars(char):
            bad.append(value)
    return bytes(bad)


_UTF8_C1 = re.compile(b"\xc2[\x80-\x9f]")
"""U+0080-U+009F in UTF-8."""
_REPLACEMENT = "\ufffd".encode()


def _all_but(kept: bytes) -> bytes:
    """Every byte value not in ``kept``: what ``bytes.translate`` deletes to keep those."""
    keep = set(kept)
    return bytes(b for b in range(256) if b not in keep)


_CONTROL_BYTES = bytes(b for b in range(128) if has_bad_chars(chr(b)))
_LEAD_BYTES = b"\xc2\xef"
"""The first bytes of U+0080-U+009F and of U+FFFD in UTF-8."""
_NOT_SUSPECT = _all_but(_CONTROL_BYTES + _LEAD_BYTES)


class Utf8Check:
    """Block by block, whether a file is valid UTF-8 without a rejected character.

    One ``translate`` keeps the bytes a rejected character starts with; the exact tests
    run only when it keeps some (with the previous block's last bytes, for a character
    cut in two). An incremental strict decoder shows the bytes are UTF-8 (a byte that
    is not would be U+FFFD in Spark), across block ends."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._tail = b""

    def __call__(self, block: bytes) -> bool:
        suspects = block.translate(None, _NOT_SUSPECT)
        if suspects or self._tail.translate(None, _NOT_SUSPECT):
            if suspects.translate(None, _LEAD_BYTES):  # a C0 control character or DEL
                return False
            window = self._tail + block
            if _REPLACEMENT in window or _UTF8_C1.search(window) is not None:
                return False
        self._tail = block[-2:]
        if block.isascii() and not self._decoder.getstate()[0]:
            return True
        try:
            self._decoder.decode(block)
        except UnicodeDecodeError:
            return False
        return True

    def end(self) -> bool:
        """Whether the file did not stop inside a character."""
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        return True


class SingleByteCheck:
    """Block by block, whether a file in a single-byte charset holds none of its bytes
    that decode to a rejected character or to nothing."""

    def __init__(self, bad_bytes: bytes) -> None:
        self._good = _all_but(bad_bytes)

    def __call__(self, block: bytes) -> bool:
        return not block.translate(None, self._good)

    def end(self) -> bool:
        return True


def block_check(encoding: str) -> Utf8Check | SingleByteCheck | None:
    """A fresh check of one file's blocks in ``encoding``; None for a charset the proof
    does not cover."""
    try:
        bad_bytes = _bad_bytes(encoding)
    except LookupError:
        return None
    return Utf8Check() if bad_bytes is None else SingleByteCheck(bad_bytes)


def bytes_are_clean(data: bytes, encoding: str) -> bool:
    """Whether ``data`` decodes in ``encoding`` without a rejected character (False for a
    charset the proof does not cover)."""
    check = block_check(encoding)
    return check is not None and check(data) and check.end()


GZIP_MAGIC = b"\x1f\x8b"


def open_bytes(path: str) -> IO[bytes]:
    """A local file's bytes, gunzipped when it starts with gzip's magic bytes, whatever
    its name (Spark goes by the name; the driver's scan of a local file in ``spark.load``
    refuses one whose name and bytes disagree)."""
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == GZIP_MAGIC
    return cast(IO[bytes], gzip.GzipFile(path, "rb") if gzipped else open(path, "rb"))


@dataclass(frozen=True)
class FileProof:
    """What one pass over a file's bytes proves about all of its lines."""

    clean: bool
    """No line can fail the bad-encoding rule."""
    lacks: frozenset[str]
    """The strings asked about that no line holds."""


NO_PROOF = FileProof(False, frozenset())
"""What a file proves that was not read whole, was not local, or is in a charset the
proof does not cover: nothing."""


def _encoded(needle: str, encoding: str) -> bytes | None:
    try:
        return needle.encode(encoding)
    except UnicodeEncodeError:  # the file cannot hold it
        return None


def holds(window: bytes, needle: bytes) -> bool:
    """Whether ``needle`` occurs in ``window``. Two-byte needles (a space next to a
    one-byte separator) go through numpy: ``bytes.find`` stops at every separator byte
    and took 0.6 s for two needles in the 1M file, numpy 0.06 s."""
    if len(needle) != 2:
        return needle in window
    import numpy as np

    data = np.frombuffer(window, dtype=np.uint8)
    return bool(((data[:-1] == needle[0]) & (data[1:] == needle[1])).any())


def prove(path: str, encoding: str, needles: Sequence[str] = ()) -> FileProof:
    """One pass over the local file at ``path`` read in ``encoding``: whether no line can
    fail the bad-encoding rule (False also for a charset the proof does not cover, and
    when the file cannot be read whole), and which of ``needles`` it lacks (in a charset the proof
    covers, where a match of the encoded bytes is a match of the characters; none is
    proven absent in any other, nor when the file cannot be read whole)."""
    check = block_check(encoding)
    if check is None:
        return NO_PROOF
    wanted = {n: _encoded(n, encoding) for n in needles}
    search = {n: b for n, b in wanted.items() if b is not None}
    found: set[str] = set()
    overlap = max((len(b) for b in search.values()), default=1) - 1
    clean = True
    tail = b""
    try:
        with open_bytes(path) as fh:
            while block := fh.read(CHUNK_BYTES):
                clean = clean and check(block)
                if search:
                    # a needle may start in the previous block
                    window = tail + block
                    found.update(
                        n for n, b in search.items() if n not in found and holds(window, b)
                    )
                    tail = window[len(window) - overlap :] if overlap else b""
                if not clean and len(found) == len(search):
                    break  # nothing more to learn
    except (OSError, EOFError, zlib.error):
        return NO_PROOF
    return FileProof(clean and check.end(), frozenset(wanted) - found)
