"""Rewrite tools/.graphql-schema-linterrc: the lint rules, and the members still undescribed."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from graphql import build_schema

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
CONFIG = TOOLS / ".graphql-schema-linterrc"
# Descriptions everywhere, plus the naming conventions and the Relay connection rules.
RULES = [
    "types-have-descriptions",
    "fields-have-descriptions",
    "arguments-have-descriptions",
    "enum-values-have-descriptions",
    "input-object-values-have-descriptions",
    "types-are-capitalized",
    "fields-are-camel-cased",
    "input-object-values-are-camel-cased",
    "enum-values-all-caps",
    "relay-connection-types-spec",
    "relay-page-info-spec",
    "relay-connection-arguments-spec",
    "defined-types-are-used",
    "deprecations-have-a-reason",
    "descriptions-are-capitalized",
]
# Only missing descriptions may be exempted (for now); naming and Relay errors always fail.
EXEMPTABLE = {rule for rule in RULES if rule.endswith("-have-descriptions")}


def main() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    linter = str(TOOLS / "node_modules/.bin/graphql-schema-linter")
    done = subprocess.run(
        [linter, "--format", "json", "--rules", ",".join(RULES), str(ROOT / "schema.graphql")],
        capture_output=True,
        text=True,
        check=False,
    )
    ignore: dict[str, set[str]] = {}
    for error in json.loads(done.stdout)["errors"]:
        if error["rule"] not in EXEMPTABLE:
            raise SystemExit(f"not exemptable: {error['message']}")
        names = re.findall(r"`([^`]+)`", error["message"])
        if error["rule"] == "arguments-have-descriptions":
            # "The `input` argument of `createIntake` ..." names no type: find the owners.
            argument, field = names
            scopes = [
                f"{name}.{field}.{argument}"
                for name, kind in schema.type_map.items()
                if not name.startswith("__")
                and field in getattr(kind, "fields", {})
                and argument in kind.fields[field].args
            ]
        else:
            scopes = names[:1]
        ignore.setdefault(error["rule"], set()).update(scopes)
    config: dict[str, Any] = {
        "rules": RULES,
        "schemaPaths": ["../schema.graphql"],
        "ignore": {rule: sorted(scopes) for rule, scopes in sorted(ignore.items())},
    }
    CONFIG.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(f"{sum(len(s) for s in ignore.values())} members still without a description")


if __name__ == "__main__":
    main()
