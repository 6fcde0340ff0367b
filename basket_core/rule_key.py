"""The rule key: one 64-bit integer that names a rule ``A -> C`` of a segment, the same in
every run and from every writer.

Comparing two runs' rules joins a million rows on each side; on the segment and the two
item arrays that join took ~0.5 s in DuckDB, on one integer column ~70 ms. The key is
defined so that any engine computes the same number (Spark in the miner, DuckDB in the
development builder, Python in the tests, Trino or Athena if ever needed):

    text = segment || U+001F || join(antecedent, U+001E) || U+001F || join(consequent, U+001E)
    rule_key = the first 15 hex digits (60 bits) of md5(UTF-8 of text), as a bigint

``antecedent`` and ``consequent`` are the sorted item arrays the rules table holds. Two
different rules share a key with probability ~n^2 / 2^61 (about 4e-7 for a million rules
per run). Runs mined before the key was written read it as null; the pack's
``rule_changes`` then compares them by their text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

UNIT = "\x1f"
"""Between the segment, the antecedent and the consequent."""
ITEM = "\x1e"
"""Between the items of one side."""
HEX_DIGITS = 15


def rule_text(segment: str, antecedent: Sequence[str], consequent: Sequence[str]) -> str:
    return UNIT.join((segment, ITEM.join(antecedent), ITEM.join(consequent)))


def rule_key(segment: str, antecedent: Sequence[str], consequent: Sequence[str]) -> int:
    """The reference definition (the engines' expressions are tested against it)."""
    digest = hashlib.md5(rule_text(segment, antecedent, consequent).encode()).hexdigest()
    return int(digest[:HEX_DIGITS], 16)


def spark_sql(
    segment: str = "segment", antecedent: str = "antecedent", consequent: str = "consequent"
) -> str:
    """The key as a Spark SQL expression over the three columns."""
    text = (
        f"concat_ws(char({ord(UNIT)}), {segment}, array_join({antecedent}, char({ord(ITEM)})), "
        f"array_join({consequent}, char({ord(ITEM)})))"
    )
    return f"CAST(conv(substr(md5({text}), 1, {HEX_DIGITS}), 16, 10) AS BIGINT)"


def duckdb_sql(
    segment: str = "segment", antecedent: str = "antecedent", consequent: str = "consequent"
) -> str:
    """The key as a DuckDB expression over the three columns."""
    text = (
        f"concat_ws(chr({ord(UNIT)}), {segment}, array_to_string({antecedent}, chr({ord(ITEM)})), "
        f"array_to_string({consequent}, chr({ord(ITEM)})))"
    )
    return f"CAST('0x' || substr(md5({text}), 1, {HEX_DIGITS}) AS BIGINT)"
