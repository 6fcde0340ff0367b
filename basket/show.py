"""Print results for people: the top rules of a run as a terminal table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table


def print_top_rules(rules_csv: Path, *, limit: int = 10, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Top {limit} rules by lift", show_lines=False)
    for name, justify in (
        ("antecedent", "left"),
        ("consequent", "left"),
        ("support", "right"),
        ("confidence", "right"),
        ("lift", "right"),
        ("count", "right"),
        ("p (adj.)", "right"),
        ("improvement", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    with rules_csv.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh)):
            if n >= limit:
                break
            table.add_row(
                " + ".join(json.loads(row["antecedent"])),
                " + ".join(json.loads(row["consequent"])),
                f"{float(row['support']):.4f}",
                f"{float(row['confidence']):.3f}",
                f"{float(row['lift']):.2f}",
                row["count"],
                _number(row.get("fisher_p_adjusted"), "{:.1e}"),
                _number(row.get("improvement"), "{:+.3f}")
                + (" (redundant)" if row.get("redundant") == "true" else ""),
            )
    console.print(table)


def _number(text: str | None, spec: str) -> str:
    """A CSV cell as a number, or blank (exports written before the column existed)."""
    if not text:
        return ""
    try:
        return spec.format(float(text))
    except ValueError:
        return text
