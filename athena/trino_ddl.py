"""Trino DDL for the results tables, generated from :mod:`basket_core.schemas`, and the query
pack on Trino (the engine behind Athena v3, and the local stand-in in docker-compose).

Athena takes Hive DDL for tables (:mod:`athena.ddl`); Trino's Hive connector takes its own
``CREATE TABLE ... WITH (external_location, format, partitioned_by)``. Both are generated
from the same column list, so the two catalogs cannot drift. The ``latest_*`` views are
the very statements of :func:`athena.ddl.latest_view` (Athena views are Trino SQL).

Partitions are registered per run with ``system.register_partition`` at the layout's
location (:mod:`basket_core.layout`): the run's current attempt folder, as its pointer names
it, like Athena's partition location (no directory scan). ``system.sync_partition_metadata``
finds only runs written before attempts (their files sit in the ``run_id=`` folder itself).

Identifiers and run ids are validated, not escaped. Query parameters are always bound
through the Trino client's prepared statements (:func:`for_trino`), never put in SQL.

``python -m athena.trino_ddl --host H --port P --root s3://bucket/prefix`` creates the
schema, tables and views in a running Trino and syncs partitions (idempotent): the
``trino-init`` job of docker-compose.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from athena import ddl
from athena.pack import Query, for_athena, placeholders
from basket_core.layout import attempt_folder, validate_run_id
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS, Column, Dataset

if TYPE_CHECKING:  # pragma: no cover
    from trino.dbapi import Connection

_TRINO_TYPES = {
    "string": "varchar",
    "bigint": "bigint",
    "int": "integer",
    "double": "double",
    "boolean": "boolean",
    "timestamp": "timestamp(3)",
    "date": "date",
    "array<string>": "array(varchar)",
}
_ROOT = re.compile(r"^(s3|s3a|local)://[^'\\\s]*$")
SYNC_MODES = ("ADD", "DROP", "FULL")


def trino_type(neutral: str) -> str:
    """The Trino (Hive connector) type of a neutral schema type."""
    return _TRINO_TYPES[neutral]


def root_uri(uri: str) -> str:
    """A validated ``s3://bucket/prefix`` or ``local:///path`` root without a trailing
    slash (``local:///`` itself stays as it is)."""
    if uri.startswith("s3://"):
        return ddl.s3_root(uri)
    if not _ROOT.match(uri):
        raise ValueError(f"{uri!r} is not an s3:// or local:/// URI")
    return uri if uri == "local:///" else uri.rstrip("/")


def _join(root: str, *parts: str) -> str:
    root = root_uri(root)
    return (root if root.endswith("/") else root + "/") + "/".join(parts)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column(c: Column) -> str:
    return f'  "{ddl.ident(c.name)}" {trino_type(c.type)} COMMENT {_literal(c.doc)}'


def table_location(root: str, dataset: Dataset) -> str:
    return _join(root, dataset.name)


def partition_location(
    root: str, dataset: Dataset, dt: date, run_id: str, attempt: str = ""
) -> str:
    """The run's folder at ``attempt`` (``""``: a run written before attempts)."""
    parts = [dataset.name, f"dt={dt.isoformat()}", f"run_id={validate_run_id(run_id)}"]
    folder = attempt_folder(attempt)
    return _join(root, *parts, folder) if folder else _join(root, *parts)


def create_schema(catalog: str, database: str) -> str:
    return f'CREATE SCHEMA IF NOT EXISTS "{ddl.ident(catalog)}"."{ddl.ident(database)}"'


def create_table(catalog: str, database: str, dataset: Dataset, root: str) -> str:
    """An external Parquet table over ``<root>/<dataset>/``, partitioned by dt and run_id
    (Trino's Hive connector wants the partition columns last, in the column list)."""
    cols = ",\n".join(_column(c) for c in (*dataset.columns, *PARTITION_COLUMNS))
    parts = ", ".join(_literal(ddl.ident(c.name)) for c in PARTITION_COLUMNS)
    name = f'"{ddl.ident(catalog)}"."{ddl.ident(database)}"."{ddl.ident(dataset.name)}"'
    return (
        f"CREATE TABLE IF NOT EXISTS {name} (\n{cols}\n)\n"
        f"COMMENT {_literal(dataset.doc)}\n"
        "WITH (\n"
        f"  external_location = {_literal(table_location(root, dataset))},\n"
        "  format = 'PARQUET',\n"
        f"  partitioned_by = ARRAY[{parts}]\n"
        ")"
    )


def _partition_args(database: str, dataset: Dataset, dt: date, run_id: str) -> str:
    values = f"ARRAY[{_literal(dt.isoformat())}, {_literal(validate_run_id(run_id))}]"
    names = ", ".join(_literal(c.name) for c in PARTITION_COLUMNS)
    return (
        f"schema_name => {_literal(ddl.ident(database))}, "
        f"table_name => {_literal(ddl.ident(dataset.name))}, "
        f"partition_columns => ARRAY[{names}], "
        f"partition_values => {values}"
    )


def unregister_partition(
    catalog: str, database: str, dataset: Dataset, dt: date, run_id: str
) -> str:
    """``CALL system.unregister_partition``: forget a run's partition (its files stay), the
    first half of moving it to a newer attempt (Trino has no SET LOCATION)."""
    return (
        f"CALL {ddl.ident(catalog)}.system.unregister_partition("
        f"{_partition_args(database, dataset, dt, run_id)})"
    )


def register_partition(
    catalog: str,
    database: str,
    dataset: Dataset,
    root: str,
    dt: date,
    run_id: str,
    attempt: str = "",
) -> str:
    """``CALL system.register_partition`` for one run of a dataset, at its layout path
    and ``attempt`` (Trino procedures take no parameters: every value here is validated)."""
    return (
        f"CALL {ddl.ident(catalog)}.system.register_partition("
        f"{_partition_args(database, dataset, dt, run_id)}, "
        f"location => {_literal(partition_location(root, dataset, dt, run_id, attempt))})"
    )


def sync_partitions(catalog: str, database: str, dataset: Dataset, mode: str = "ADD") -> str:
    """``CALL system.sync_partition_metadata``: partitions found under the table location."""
    if mode not in SYNC_MODES:
        raise ValueError(f"sync mode must be one of {SYNC_MODES}, got {mode!r}")
    return (
        f"CALL {ddl.ident(catalog)}.system.sync_partition_metadata("
        f"{_literal(ddl.ident(database))}, {_literal(ddl.ident(dataset.name))}, '{mode}')"
    )


def setup_statements(
    catalog: str, database: str, root: str, datasets: tuple[Dataset, ...] = RESULT_DATASETS
) -> list[str]:
    """Schema, tables, then the ``latest_*`` views (resolved in ``catalog``)."""
    return [
        create_schema(catalog, database),
        *(create_table(catalog, database, d, root) for d in datasets),
        *(ddl.latest_view(database, d) for d in datasets),
    ]


def register_run_statements(
    catalog: str,
    database: str,
    root: str,
    dt: date,
    run_id: str,
    datasets: tuple[Dataset, ...] = RESULT_DATASETS,
    attempt: str = "",
) -> list[str]:
    return [register_partition(catalog, database, d, root, dt, run_id, attempt) for d in datasets]


# --- the query pack on Trino ------------------------------------------------------------------


def for_trino(query: Query, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """SQL with ``?`` placeholders (the Athena text) and the typed values in placeholder
    order, for the Trino client's prepared statements."""
    sql, _ = for_athena(query, values)
    return sql, [values[name] for _, _, name in placeholders(query.sql)]


def execute(conn: Connection, sql: str, params: Sequence[Any] | None = None) -> list[list[Any]]:
    """Run one statement and fetch every row."""
    cur = conn.cursor()
    try:
        cur.execute(sql, list(params) if params else None)
        rows: list[list[Any]] = cur.fetchall()
        return rows
    finally:
        cur.close()


def run(
    conn: Connection, query: Query, values: Mapping[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a pack query with bound parameters; column names and rows."""
    sql, params = for_trino(query, values)
    cur = conn.cursor()
    try:
        cur.execute(sql, params or None)
        rows = cur.fetchall()
        columns = [d[0] for d in cur.description or []]
    finally:
        cur.close()
    return columns, [tuple(r) for r in rows]


def pointer_runs(keys: Sequence[str]) -> list[tuple[date, str]]:
    """``(dt, run_id)`` of every run pointer key (``.../_attempts/dt=D/run_id=R.json``)."""
    runs = []
    for key in keys:
        m = re.search(r"_attempts/dt=(\d{4}-\d{2}-\d{2})/run_id=([^/]+)\.json$", key)
        if m:
            runs.append((date.fromisoformat(m.group(1)), validate_run_id(m.group(2))))
    return sorted(runs)


def move_statements(
    catalog: str, database: str, root: str, dt: date, run_id: str, attempt: str
) -> list[tuple[str, str]]:
    """Per table, ``(unregister, register)``: the run's partition moved to ``attempt``
    (the unregister fails harmlessly when the partition is not there yet)."""
    return [
        (
            unregister_partition(catalog, database, d, dt, run_id),
            register_partition(catalog, database, d, root, dt, run_id, attempt),
        )
        for d in RESULT_DATASETS
    ]


def _published_attempts(root: str) -> list[tuple[date, str, str]]:
    """``(dt, run_id, attempt)`` of every run published with attempts under an s3 root."""
    if not root.startswith("s3://"):
        return []
    from basket_core.aws import s3 as s3_api
    from basket_core.aws.session import client
    from basket_core.config import load_settings
    from basket_core.layout import Pointer, Target

    bucket, _, prefix = root.removeprefix("s3://").partition("/")
    target = Target(bucket, prefix)
    s3 = client(load_settings().aws, "s3")
    out = []
    for dt, run_id in pointer_runs(s3_api.list_keys(s3, bucket, target.key("_attempts/"))):
        raw = s3_api.get_bytes(s3, bucket, target.key(f"_attempts/dt={dt}/run_id={run_id}.json"))
        if raw:
            out.append((dt, run_id, Pointer.from_dict(json.loads(raw)).attempt))
    return out


def main(argv: list[str] | None = None) -> int:
    """Create the schema, tables and views in a running Trino and sync the partitions."""
    import trino

    parser = argparse.ArgumentParser(prog="python -m athena.trino_ddl", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--user", default="basket")
    parser.add_argument("--catalog", default="hive")
    parser.add_argument("--database", help="default: athena.database from the settings")
    parser.add_argument("--root", help="default: s3://<aws.bucket>/<aws.prefix>")
    args = parser.parse_args(argv)
    if args.database is None or args.root is None:
        from basket_core.config import load_settings
        from basket_core.layout import Target

        settings = load_settings()
        args.database = args.database or settings.athena.database
        args.root = args.root or Target.of(settings.aws).root
    conn = trino.dbapi.connect(host=args.host, port=args.port, user=args.user, catalog=args.catalog)
    try:
        for sql in setup_statements(args.catalog, args.database, args.root):
            execute(conn, sql)
            print(sql.splitlines()[0])
        for dt, run_id, attempt in _published_attempts(args.root):  # before the sync below
            for forget, register in move_statements(
                args.catalog, args.database, args.root, dt, run_id, attempt
            ):
                with contextlib.suppress(Exception):  # not registered yet
                    execute(conn, forget)
                execute(conn, register)
            print(f"registered {run_id} ({dt}) at attempt {attempt}")
        for sql in [sync_partitions(args.catalog, args.database, d) for d in RESULT_DATASETS]:
            execute(conn, sql)
            print(sql.splitlines()[0])
    finally:
        conn.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
