"""Trusted documents: operations/*.graphql, their manifest, and the trusted-only mode."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from graphql import parse, validate

from gateway.cli import main
from gateway.http import ManifestError, document_hash, load_manifest, manifest_text
from gateway.http._graphiql import DASHBOARD, MOBILE_HOME, VISIT_DETAIL
from gateway.schema import build_schema
from gateway.settings import Settings, SettingsError

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
OPERATIONS = Path(__file__).resolve().parents[2] / "operations"
MANIFEST = OPERATIONS / "manifest.json"


def test_the_manifest_is_in_sync_with_the_operations() -> None:
    assert MANIFEST.read_text(encoding="utf-8") == manifest_text(OPERATIONS), (
        "run `make manifest` (vsee-gateway manifest --output operations/manifest.json)"
    )
    main(["manifest", "--operations", str(OPERATIONS), "--output", str(MANIFEST), "--check"])


def test_every_operation_validates_against_the_schema() -> None:
    schema = build_schema()._schema
    documents = load_manifest(MANIFEST)
    assert len(documents) == len(list(OPERATIONS.glob("*.graphql")))
    for body in documents.values():
        assert validate(schema, parse(body)) == [], body.splitlines()[0]


def test_graphiqls_tabs_are_trusted_documents() -> None:
    documents = load_manifest(MANIFEST)
    for tab in (MOBILE_HOME, VISIT_DETAIL, DASHBOARD):
        assert document_hash(tab) in documents


def test_a_manifest_entry_must_hash_to_its_id(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"0" * 64: "query X { __typename }"}))
    with pytest.raises(ManifestError, match="does not hash"):
        load_manifest(bad)
    relay = tmp_path / "relay.json"
    body = "query X { __typename }"
    relay.write_text(json.dumps({document_hash(body): body}))
    assert load_manifest(relay) == {document_hash(body): body}


def test_trusted_only_needs_a_manifest() -> None:
    with pytest.raises(ValueError, match="VSEE_TRUSTED_DOCUMENTS"):
        Settings(trusted_documents_only=True)


def test_an_unreadable_manifest_stops_start_up(tmp_path: Path) -> None:
    from gateway.app import create_app

    with pytest.raises(SettingsError, match="VSEE_TRUSTED_DOCUMENTS"):
        create_app(Settings(trusted_documents=str(tmp_path / "missing.json")))


async def test_trusted_only_runs_manifest_operations_and_refuses_the_rest(
    make_client: MakeClient,
) -> None:
    client = await make_client(trusted_documents=str(MANIFEST), trusted_documents_only=True)
    documents = load_manifest(MANIFEST)
    digest = document_hash(MOBILE_HOME)
    assert digest in documents
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    variables = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    # By hash alone (no credentials: the fields fail UNAUTHENTICATED, but the operation runs).
    by_hash = await client.post("/graphql", json={"extensions": persisted, "variables": variables})
    codes = {e["extensions"]["code"] for e in by_hash.json()["errors"]}
    assert codes == {"UNAUTHENTICATED"}
    # The same document sent in full is trusted too.
    in_full = await client.post("/graphql", json={"query": MOBILE_HOME, "variables": variables})
    assert {e["extensions"]["code"] for e in in_full.json()["errors"]} == {"UNAUTHENTICATED"}
    # Anything else is refused, including registering a new persisted query.
    other = "{ __typename }"
    for body in (
        {"query": other},
        {
            "query": other,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash(other)}},
        },
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}},
    ):
        refused = await client.post("/graphql", json=body)
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"


async def test_without_trusted_only_the_manifest_still_answers_by_hash(
    make_client: MakeClient,
) -> None:
    client = await make_client(trusted_documents=str(MANIFEST))
    digest = document_hash(DASHBOARD)
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    answer = await client.get("/graphql", params={"extensions": json.dumps(persisted)})
    assert {e["extensions"]["code"] for e in answer.json()["errors"]} == {"UNAUTHENTICATED"}
    assert (await client.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
