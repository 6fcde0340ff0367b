"""The analyst query pack: ``athena/queries/<name>.sql`` in Athena (Trino) SQL.

A file starts with comment lines: a description, then one line per parameter::

    -- Top rules of the latest run by lift.
    -- @param min_support double = 0.0 : minimum rule support
    -- @param item string : a required parameter (no default)

and uses parameters as ``:name`` placeholders. Values are always bound, never put in
the SQL text: Athena gets the placeholders as ``?`` plus ``ExecutionParameters``
(:func:`for_athena`); DuckDB gets the sqlglot-transpiled SQL with ``$name`` and a dict
(:func:`for_duckdb`). sqlglot's work on a pack file (its placeholders, its DuckDB SQL) is
kept on disk (:func:`cache_dir`), so ``basket query`` need not import sqlglot.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

ParamType = Literal["int", "double", "string"]
_PARAM = re.compile(
    r"^--\s*@param\s+(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>int|double|string)"
    r"(?:\s*=\s*(?P<default>'[^']*'|[^\s:]+))?\s*(?::\s*(?P<doc>.*))?$"
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class QueryError(ValueError):
    """A bad query name, pack file or parameter value."""


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    default: Any
    required: bool
    doc: str

    def convert(self, raw: Any) -> Any:
        """A typed value from a command-line string (or an already typed value)."""
        try:
            if self.type == "int":
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError
                return int(raw)
            if self.type == "double":
                value = float(raw)
                if not math.isfinite(value):
                    raise ValueError
                return value
        except (TypeError, ValueError):
            raise QueryError(f"parameter {self.name}: {raw!r} is not a valid {self.type}") from None
        return str(raw)


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    params: tuple[Param, ...]
    sql: str  # Athena SQL with :name placeholders

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise QueryError(f"query {self.name} has no parameter {name!r}; known: {self._known()}")

    def _known(self) -> str:
        return ", ".join(p.name for p in self.params) or "(none)"

    def bind(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter's typed value: given ones converted, defaults for the rest."""
        for name in given:
            self.param(name)
        values: dict[str, Any] = {}
        for p in self.params:
            if p.name in given:
                values[p.name] = p.convert(given[p.name])
            elif p.required:
                raise QueryError(f"query {self.name} needs --param {p.name}=<{p.type}>")
            else:
                values[p.name] = p.default
        return values


def _parse_default(type_: ParamType, text: str | None) -> Any:
    if text is None:
        return None
    if type_ == "string":
        return text[1:-1] if text.startswith("'") else text
    return Param("default", type_, None, True, "").convert(text)


_CACHE_FORMAT = "1"


def cache_dir() -> Path:
    """Where the sqlglot work on pack files is kept between processes:
    ``$XDG_CACHE_HOME/basket/pack`` (``~/.cache/basket/pack``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "basket" / "pack"


def _disk_cached(kind: str, sql: str, compute: Any) -> Any:
    """``compute(sql)``, kept on disk by the SQL text and sqlglot's version, so a
    ``basket query`` process does not import sqlglot (about half a second) for a pack
    file it has seen before. An unwritable cache only costs the time."""
    from importlib.metadata import version

    key = hashlib.sha256(
        f"{_CACHE_FORMAT}\0{kind}\0{version('sqlglot')}\0{sql}".encode()
    ).hexdigest()
    path = cache_dir() / f"{kind}-{key[:32]}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    value = compute(sql)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(value), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return value


@cache
def placeholders(sql: str) -> list[tuple[int, int, str]]:
    """``(start, end, name)`` of every ``:name`` placeholder, in text order (strings and
    comments are skipped by the tokenizer)."""
    found = _disk_cached("placeholders", sql, _placeholders)
    return [(int(a), int(b), str(n)) for a, b, n in found]


def _placeholders(sql: str) -> list[tuple[int, int, str]]:
    from sqlglot.dialects.trino import Trino
    from sqlglot.tokens import TokenType

    tokens = Trino().tokenize(sql)
    found: list[tuple[int, int, str]] = []
    for tok, nxt in itertools.pairwise(tokens):
        if tok.token_type == TokenType.COLON and nxt.start == tok.end + 1:
            if not _NAME.match(nxt.text):
                raise QueryError(f"bad placeholder :{nxt.text}")
            found.append((tok.start, nxt.end + 1, nxt.text))
    return found


def parse(name: str, text: str) -> Query:
    """A :class:`Query` from a pack file's text; every placeholder must be declared."""
    description: list[str] = []
    params: list[Param] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        m = _PARAM.match(stripped)
        if m:
            type_: ParamType = m["type"]  # type: ignore[assignment]
            params.append(
                Param(
                    name=m["name"],
                    type=type_,
                    default=_parse_default(type_, m["default"]),
                    required=m["default"] is None,
                    doc=(m["doc"] or "").strip(),
                )
            )
        elif "@param" in stripped:
            raise QueryError(f"{name}.sql: cannot parse {stripped!r}")
        else:
            description.append(stripped.lstrip("-").strip())
    used = {n for _, _, n in placeholders(text)}
    declared = {p.name for p in params}
    if used - declared:
        raise QueryError(f"{name}.sql uses undeclared parameters {sorted(used - declared)}")
    if declared - used:
        raise QueryError(f"{name}.sql declares unused parameters {sorted(declared - used)}")
    return Query(name, " ".join(d for d in description if d), tuple(params), text)


def names() -> list[str]:
    folder = resources.files("athena") / "queries"
    return sorted(p.name.removesuffix(".sql") for p in folder.iterdir() if p.name.endswith(".sql"))


@cache
def load(name: str) -> Query:
    if not _NAME.match(name) or name not in names():
        raise QueryError(f"unknown query {name!r}; known: {', '.join(names())}")
    text = (resources.files("athena") / "queries" / f"{name}.sql").read_text(encoding="utf-8")
    return parse(name, text)


def athena_literal(value: Any) -> str:
    """An ExecutionParameters value: Athena binds it as this literal (strings quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def for_athena(query: Query, values: Mapping[str, Any]) -> tuple[str, list[str]]:
    """SQL with ``?`` placeholders and the ExecutionParameters, in placeholder order."""
    out: list[str] = []
    params: list[str] = []
    pos = 0
    for start, end, name in placeholders(query.sql):
        out.append(query.sql[pos:start] + "?")
        params.append(athena_literal(values[name]))
        pos = end
    out.append(query.sql[pos:])
    return "".join(out), params


@cache
def _duckdb_sql(sql: str) -> str:
    return str(_disk_cached("duckdb", sql, _transpile))


def _transpile(sql: str) -> str:
    import sqlglot

    statements = sqlglot.transpile(sql, read="trino", write="duckdb")
    if len(statements) != 1:
        raise QueryError(f"a pack query must be one statement, got {len(statements)}")
    return statements[0]


def for_duckdb(query: Query) -> str:
    """The query transpiled to DuckDB; placeholders become ``$name``."""
    return _duckdb_sql(query.sql)
