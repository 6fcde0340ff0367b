"""The rule key is one number for one rule, whichever engine computes it."""

from __future__ import annotations

import duckdb
import pytest

from basket_core import rule_key

RULES = [
    ("all", ["BREAD"], ["MILK"]),
    ("all", ["MILK"], ["BREAD"]),  # the reverse rule is another rule
    ("FR", ["BREAD"], ["MILK"]),  # so is the same rule of another segment
    ("all", ["A", "B"], ["C"]),
    ("all", ["A"], ["B", "C"]),  # the same items split otherwise
    ("all", ["A, B"], ["C"]),  # a comma inside an item name is not a separator
    ("Côte d'Ivoire", ["CRÈME BRÛLÉE SET", "平底锅"], ["MUG"]),
    ("", ["X"], ["Y"]),
]


def test_keys_are_non_negative_bigints_and_distinct_for_distinct_rules() -> None:
    keys = [rule_key.rule_key(*r) for r in RULES]
    assert all(0 <= k < 2**63 for k in keys)
    assert len(set(keys)) == len(keys)
    assert rule_key.rule_key("all", ("A", "B"), ("C",)) == rule_key.rule_key(
        "all", ["A", "B"], ["C"]
    )


@pytest.mark.parametrize("rule", RULES, ids=lambda r: repr(r)[:40])
def test_duckdb_expression_equals_the_reference(rule: tuple[str, list[str], list[str]]) -> None:
    segment, antecedent, consequent = rule
    sql = (
        f"SELECT {rule_key.duckdb_sql()} FROM (SELECT $segment AS segment, "
        "$antecedent::VARCHAR[] AS antecedent, $consequent::VARCHAR[] AS consequent)"
    )
    with duckdb.connect() as con:
        got = con.execute(
            sql, {"segment": segment, "antecedent": antecedent, "consequent": consequent}
        ).fetchall()
    assert got == [(rule_key.rule_key(*rule),)]
