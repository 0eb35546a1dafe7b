"""schema.graphql at the repository root is exactly the schema the gateway serves."""

from pathlib import Path

from gateway.schema import export_sdl

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_in_sync() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `make schema` and commit it"


def test_every_type_and_root_field_is_documented() -> None:
    sdl = export_sdl()
    for name in ("Visit", "Intake", "Provider", "Room"):
        assert f"type {name} implements Node {{" in sdl
    for name in ("Member", "Slot"):
        assert f"type {name} {{" in sdl
    for root in ("visit(", "visits(", "currentVisit", "intake(", "room(", "availability("):
        head, _, _ = sdl.partition(root)
        assert head.rstrip().endswith('"""'), f"{root} has no description"
