"""Power BI over Athena through the Amazon Athena ODBC driver (2.x): a DSN definition, a
``.pbids`` connection file that opens Power BI Desktop on that DSN, and one Power Query (M)
query per view, whose SQL and column types come from :mod:`basket_core.schemas`.

Pure text generation; ``basket powerbi export`` writes the files (see docs/powerbi.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from quicksight.datasets import DATA_SETS, DataSetSpec, select_sql

DRIVER = "Amazon Athena ODBC (x64)"
M_TYPES = {
    "string": "type text",
    "bigint": "Int64.Type",
    "int": "Int64.Type",
    "double": "type number",
    "boolean": "type logical",
    "timestamp": "type datetime",
    "date": "type date",
    "array<string>": "type text",
}
VIEWS = ("itemsets", "rules", "rule_changes")  # the latest_* views merchandisers look at


@dataclass(frozen=True)
class OdbcSettings:
    dsn: str
    region: str
    database: str
    workgroup: str
    output_location: str
    profile: str | None = None

    def dsn_settings(self) -> dict[str, str]:
        """The DSN's key/value pairs, as the driver names them."""
        keys = {
            "Driver": DRIVER,
            "Description": f"Market basket results in Athena database {self.database}",
            "AwsRegion": self.region,
            "Catalog": "AwsDataCatalog",
            "Schema": self.database,
            "Workgroup": self.workgroup,
            "S3OutputLocation": self.output_location,
            "AuthenticationType": "IAM Profile" if self.profile else "Default Credentials",
        }
        if self.profile:
            keys["AWSProfile"] = self.profile
        return keys


def pbids(odbc: OdbcSettings) -> str:
    """A Power BI data source file: opening it starts Get Data on the ODBC DSN."""
    doc = {
        "version": "0.1",
        "connections": [
            {
                "details": {
                    "protocol": "odbc",
                    "address": {"connectionString": f"dsn={odbc.dsn}"},
                },
                "options": {},
                "mode": "Import",
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def odbc_ini(odbc: OdbcSettings) -> str:
    """The DSN as an ``odbc.ini`` section (unixODBC, or a reference for the Windows dialog)."""
    lines = [f"[{odbc.dsn}]", *(f"{k}={v}" for k, v in odbc.dsn_settings().items())]
    return "\n".join(lines) + "\n"


def m_text(text: str) -> str:
    """An M text literal."""
    return '"' + text.replace('"', '""') + '"'


def m_query(odbc: OdbcSettings, spec: DataSetSpec) -> str:
    """A Power Query (M) query reading one view through the DSN, with typed columns."""
    sql = " ".join(line.strip() for line in select_sql(spec, odbc.database).splitlines())
    types = ",\n        ".join(f"{{{m_text(c.name)}, {M_TYPES[c.type]}}}" for c in spec.columns)
    return (
        f"// {spec.table}: {spec.dataset.doc}\n"
        f"// Reads Athena view {odbc.database}.{spec.table} through ODBC DSN {odbc.dsn}.\n"
        f"// Power BI: Get data > Blank query > Advanced editor; name the query {spec.table}.\n"
        "let\n"
        f"    Dsn = {m_text(odbc.dsn)},\n"
        f"    Sql = {m_text(sql)},\n"
        '    Source = Odbc.Query("dsn=" & Dsn, Sql),\n'
        "    Typed = Table.TransformColumnTypes(\n"
        "        Source,\n"
        f"        {{\n        {types}\n        }}\n"
        "    )\n"
        "in\n"
        "    Typed\n"
    )


def dsn_doc(odbc: OdbcSettings) -> str:
    rows = "\n".join(f"| `{k}` | `{v}` |" for k, v in odbc.dsn_settings().items())
    return f"""# Athena ODBC data source `{odbc.dsn}`

Power BI reads the market basket results from Athena through the Amazon Athena ODBC
driver (2.x). Create this data source once on each machine (and on the on-premises data
gateway, for scheduled refresh in the Power BI service).

1. Install the 64-bit Amazon Athena ODBC driver 2.x from the Athena documentation.
2. Open *ODBC Data Sources (64-bit)* > *System DSN* > *Add* > **{DRIVER}**.
3. Enter the settings below (`odbc.ini` beside this file holds the same values).

| Setting | Value |
| --- | --- |
{rows}

Credentials never go into these files: the driver uses the standard AWS credential chain
(`Default Credentials`) or the named profile (`IAM Profile`). The identity needs
`athena:StartQueryExecution`/`GetQueryResults` on workgroup `{odbc.workgroup}`, read access
to the results bucket and the Glue catalog, and write access to `{odbc.output_location}`.

Then open `{odbc.dsn}.pbids` (Power BI Desktop starts on this DSN), or paste
`latest_rules.pq` / `latest_itemsets.pq` / `latest_rule_changes.pq` (what changed since the
previous run) into *Blank query > Advanced editor*.
"""


def export(out: Path, odbc: OdbcSettings) -> list[Path]:
    """Write the .pbids file, the DSN doc and odbc.ini, and one .pq per view; the paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        f"{odbc.dsn}.pbids": pbids(odbc),
        "athena-dsn.md": dsn_doc(odbc),
        "odbc.ini": odbc_ini(odbc),
    }
    for spec in DATA_SETS:
        if spec.name in VIEWS:
            files[f"{spec.table}.pq"] = m_query(odbc, spec)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
