"""The driver's byte check that lets Spark skip the bad-encoding rule: it may say a file is
clean only when decoding it gives no character the rule rejects. Each case compares it with
that definition, written independently (Python's strict decode, then ``has_bad_chars``)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from spark import char_check
from spark.char_check import bytes_are_clean, has_bad_chars, prove


def clean_by_definition(data: bytes, encoding: str) -> bool:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return not has_bad_chars(text)


def test_every_character_in_utf8() -> None:
    codes = [*range(0xD800), *range(0xE000, 0x110000, 7), 0x10FFFF]
    wrong = [
        hex(code)
        for code in codes
        if bytes_are_clean(f"ok,{chr(code)}x\n".encode(), "utf-8") != (not has_bad_chars(chr(code)))
    ]
    assert wrong == []


def test_random_bytes_in_utf8() -> None:
    rng = random.Random(7)
    # mostly ASCII text with some high bytes (valid and invalid sequences) and controls
    pool = [*b"abc,;\t\r ", 0x00, 0x07, 0x1B, 0x7F, 0x80, 0x85, 0x9F, 0xA0, 0xBD, 0xBF, 0xC2,
            0xC3, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]  # fmt: skip
    seen = {True: 0, False: 0}
    for _ in range(20_000):
        data = bytes(rng.choice(pool) for _ in range(rng.randint(0, 6))) + b"\n"
        expected = clean_by_definition(data, "utf-8")
        assert bytes_are_clean(data, "utf-8") == expected, data
        seen[expected] += 1
    assert min(seen.values()) > 1_000  # both answers are exercised


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ascii", "iso-8859-1"])
def test_every_byte_in_a_single_byte_charset(encoding: str) -> None:
    for value in range(256):
        data = b"ok," + bytes([value]) + b"\n"
        assert bytes_are_clean(data, encoding) == clean_by_definition(data, encoding), value


@pytest.mark.parametrize("encoding", ["shift_jis", "utf-16", "iso-8859-5", "cp437"])
def test_charsets_the_check_does_not_cover_are_never_proven(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes(b"milk,bread\n")
    assert not bytes_are_clean(b"milk,bread\n", encoding)
    assert not prove(str(path), encoding).clean


def test_a_character_across_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(char_check, "CHUNK_BYTES", 5)
    path = tmp_path / "b.txt"
    path.write_text("café,thé\n€uro,crème\nnaïve", encoding="utf-8")
    assert prove(str(path), "utf-8").clean
    # a C1 control, U+FFFD, an invalid byte, a control, and a character cut short at the
    # end of the file: each found wherever the blocks fall
    data = "café,thé\n€uro,crème\n".encode()
    for bad in ("x\x85y".encode(), "\ufffd".encode(), b"\xc3(", b"\x01", b"\xe2\x82"):
        for at in range(len(data) + 1):
            path.write_bytes(data[:at] + bad + data[at:])
            assert not prove(str(path), "utf-8").clean, (bad, at)
        path.write_bytes(data + bad)
        assert not prove(str(path), "utf-8").clean, bad
    # a line longer than a block
    path.write_text("é" * 1000 + "\n" + "x" * 1000, encoding="utf-8")
    assert prove(str(path), "utf-8").clean


def test_the_last_line_without_a_line_end_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes(b"milk,bread\nmilk,\x7f")
    assert not prove(str(path), "utf-8").clean
    path.write_bytes(b"milk,bread\nmilk,tea")
    assert prove(str(path), "utf-8").clean


def test_gzip_files_are_checked_on_their_text(tmp_path: Path) -> None:
    path = tmp_path / "b.txt.gz"
    path.write_bytes(gzip.compress(b"milk,bread\n" * 1000))
    assert prove(str(path), "utf-8").clean
    path.write_bytes(gzip.compress(b"milk,bread\n" * 1000 + b"tea\x00\n"))
    assert not prove(str(path), "utf-8").clean
    path.write_bytes(gzip.compress(b"milk,bread\n" * 1000)[:-30])  # truncated
    assert not prove(str(path), "utf-8").clean


def test_needles_are_found_wherever_the_blocks_fall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(char_check, "CHUNK_BYTES", 4)
    path = tmp_path / "b.txt"
    data = "café,thé\nmilk,bread\n".encode()
    path.write_bytes(data)
    assert prove(str(path), "utf-8", (" ,", ", ", "é,")).lacks == {" ,", ", "}
    for at in range(len(data) + 1):
        path.write_bytes(data[:at] + b"a ,b" + data[at:])
        proof = prove(str(path), "utf-8", (" ,", ", "))
        assert proof.lacks == {", "}, at
        cuts_a_character = at < len(data) and data[at] & 0xC0 == 0x80
        assert proof.clean != cuts_a_character, at
    # a needle the charset cannot encode is in no file of it; a bad byte does not stop
    # the search
    path.write_bytes(b"milk\x00, bread\n")
    proof = prove(str(path), "latin-1", ("\u20ac", ", ", " ,"))
    assert not proof.clean
    assert proof.lacks == {"\u20ac", " ,"}
    # a charset the check does not cover proves nothing
    assert prove(str(path), "shift_jis", (" ,",)).lacks == frozenset()


def test_holds_finds_two_byte_needles_as_find_does() -> None:
    from spark.char_check import holds

    rng = random.Random(3)
    for _ in range(5_000):
        window = bytes(rng.choice(b"a ,;") for _ in range(rng.randint(0, 8)))
        for needle in (b" ,", b", ", b",", b", ;", b""):
            assert holds(window, needle) == (needle in window), (window, needle)
