"""The benchmark peers' code is well formed: documents validate, the Node files parse, and the
Apollo peer converts VSee's values as the gateway does. No network, no npm packages needed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from gateway.schema import _convert
from gateway.schema.scalars import _serialize_datetime

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
PEERS = BENCHMARKS / "peers"
sys.path.insert(0, str(BENCHMARKS))

import hive_screens  # noqa: E402
import run  # noqa: E402

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def test_the_screens_documents_validate_against_the_schema_apollo_serves() -> None:
    # apollo.mjs serves schema.graphql itself, so these are valid for both servers.
    schema = build_schema((ROOT / "schema.graphql").read_text())
    for document in (run.HOME, run.DETAIL, run.DASHBOARD, run.CREATE_INTAKE, run.SLOTS, run.BOOK):
        assert validate(schema, parse(document)) == []
    assert "schema.graphql" in (PEERS / "apollo.mjs").read_text()


def test_hive_documents_parse_and_use_only_operations_the_openapi_document_has() -> None:
    spec = (PEERS / "openapi.yaml").read_text()
    for document in (
        hive_screens.HOME,
        hive_screens.DETAIL,
        hive_screens.DASHBOARD,
        hive_screens.CREATE_INTAKE,
        hive_screens.SLOTS,
        hive_screens.BOOK,
    ):
        operation = parse(document).definitions[0]
        for selection in operation.selection_set.selections:  # type: ignore[attr-defined]
            assert f"operationId: {selection.name.value}\n" in spec


@needs_node
@pytest.mark.parametrize("name", ["apollo.mjs", "vsee.mjs"])
def test_node_files_parse(name: str) -> None:
    assert NODE is not None
    subprocess.run([NODE, "--check", str(PEERS / name)], check=True, timeout=30)


SAMPLES: list[Any] = [
    None,
    True,
    0,
    "0",
    "--",
    "",
    " 1525 ",
    1525,
    1796985900,
    "1796985900",
    1796985900123,
    "12.7",
    "abc",
    "true",
    "no",
    {"sec": 1786676009, "usec": 339000},
    "2025-10-28T00:00:00",
    "0001-01-01T00:00:00",
    "25",
    "00.00",
    "+20",
    -7,
    "20.5",
    "https://vsee.example/files/photo.png?auth_code=x",
    " http://vsee.example/p/ ",
    "https://user:pass@evil.example/",
    "ftp://vsee.example/p.png",
    "https://vsee.example:99999/",
    "https://vsee.example/%zz",
    "files/2016/08/17/57b4c65d.png",
]


def _python(name: str, value: Any) -> Any:
    result = getattr(_convert, name)(value)
    if isinstance(result, datetime):
        return _serialize_datetime(result)
    return None if result is None else (str(result) if name == "as_date" else result)


@needs_node
def test_apollo_peer_converts_vsee_values_as_the_gateway_does() -> None:
    assert NODE is not None
    pairs = {
        "as_id": "asId",
        "as_ref_id": "asRefId",
        "as_int": "asInt",
        "as_text": "asText",
        "as_bool": "asBool",
        "as_datetime": "asDateTime",
        "as_decimal_str": "asDecimalStr",
        "as_code": "asCode",
        "as_url": "asUrl",
    }
    script = (
        f"import * as c from {json.dumps((PEERS / 'vsee.mjs').as_uri())};\n"
        f"const samples = {json.dumps(SAMPLES)};\n"
        f"const names = {json.dumps(list(pairs.values()))};\n"
        "console.log(JSON.stringify(Object.fromEntries("
        "names.map((n) => [n, samples.map((s) => c[n](s))]))));"
    )
    answer = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    node = json.loads(answer.stdout)
    differences = [
        (python_name, sample, got, _python(python_name, sample))
        for python_name, node_name in pairs.items()
        for sample, got in zip(SAMPLES, node[node_name], strict=True)
        # Only date-times come as objects ({sec, usec}); an object id is not a VSee value.
        if (python_name == "as_datetime" or not isinstance(sample, dict))
        and got != _python(python_name, sample)
    ]
    assert differences == [], differences


@needs_node
def test_apollo_peer_resolves_attachment_paths_as_the_gateway_does() -> None:
    assert NODE is not None
    apis = [
        "https://api.vseepreview.com/vc/next/api_v3",
        "http://127.0.0.1:8000/vc/next/api_v3",
        "http://sandbox:8000/api_v3",
        "http://10.1.2.3/api_v3",
    ]
    paths = [
        "files/2016/08/17/57b4c65d.png",
        "/files/a.png",
        "files/../secret",
        "files/%2e%2e/secret",
        "javascript:alert(1)",
        "https://api.vseepreview.com/vc/next/api_v3/files/a.png",
        "https://elsewhere.example/files/a.png",
        "",
        None,
    ]
    script = (
        f"import * as c from {json.dumps((PEERS / 'vsee.mjs').as_uri())};\n"
        f"const apis = {json.dumps(apis)};\n"
        f"const paths = {json.dumps(paths)};\n"
        "console.log(JSON.stringify(apis.map((a) => paths.map("
        "(p) => c.resolveFile(c.publicFilesBase(a), p)))));"
    )
    answer = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    expected = [
        [_convert.resolve_file(_convert.public_files_base(api), path) for path in paths]
        for api in apis
    ]
    assert json.loads(answer.stdout) == expected
    # The benchmark's sandbox is on loopback: no URL there, on either side.
    assert expected[1] == [None] * len(paths)
    assert expected[0][0] == f"{apis[0]}/files/2016/08/17/57b4c65d.png"
