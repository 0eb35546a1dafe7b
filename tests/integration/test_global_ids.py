"""Global object identification: opaque ids per type, `node`/`nodes` through the loaders."""

from __future__ import annotations

import base64

from tests.conftest import MEMBER
from tests.servers import Gateway, Sandbox, gid, raw_id

CURRENT = """query CurrentIds { currentVisit {
  id databaseId meeting { id } intakeId intake { id databaseId }
  provider { id databaseId } member { id databaseId } room { id databaseId code }
  hosts { id role provider { id databaseId } } } }"""


def _decoded(global_id: str) -> str:
    return base64.urlsafe_b64decode(global_id.encode()).decode()


def test_every_id_names_its_type_and_keeps_vsees_id_beside_it(gateway: Gateway) -> None:
    visit = gateway.query(CURRENT, token=MEMBER)["data"]["currentVisit"]
    assert _decoded(visit["id"]) == f"Visit:{visit['databaseId']}"
    assert _decoded(visit["provider"]["id"]) == f"Provider:{visit['provider']['databaseId']}"
    assert _decoded(visit["member"]["id"]) == f"Member:{visit['member']['databaseId']}"
    assert _decoded(visit["intake"]["id"]) == f"Intake:{visit['intake']['databaseId']}"
    assert visit["intakeId"] == visit["intake"]["id"]
    assert _decoded(visit["room"]["id"]) == f"Room:{visit['room']['code']}"
    # The meeting has no id of its own: one per visit, keyed by the visit.
    assert _decoded(visit["meeting"]["id"]) == f"Meeting:{visit['databaseId']}"
    # Members, providers and hosts share VSee's user ids; their global ids never collide.
    ids = [visit["provider"]["id"], visit["member"]["id"], *(h["id"] for h in visit["hosts"])]
    assert len(set(ids)) == len(ids)
    assert all(each for each in ids)
    # A host is a provider's role in this visit: the provider is the same object everywhere.
    for host in visit["hosts"]:
        assert (
            _decoded(host["id"])
            == f"VisitHost:{visit['databaseId']}/{host['provider']['databaseId']}"
        )
        assert _decoded(host["provider"]["id"]) == f"Provider:{host['provider']['databaseId']}"


def test_provider_by_id_and_an_intakes_relations(gateway: Gateway, upstream: Sandbox) -> None:
    visit = gateway.query(CURRENT, token=MEMBER)["data"]["currentVisit"]
    upstream.clear_log()
    body = gateway.query(
        """query Relations($p: ID!, $i: ID!) {
             provider(id: $p) { id fullName }
             intake(id: $i) { id member { id } provider { id } room { id code } } }""",
        {"p": visit["provider"]["id"], "i": visit["intake"]["id"]},
        token=MEMBER,
    )
    assert "errors" not in body, body
    assert body["data"]["provider"]["id"] == visit["provider"]["id"]
    intake = body["data"]["intake"]
    assert intake["id"] == visit["intake"]["id"]
    assert intake["member"] == {"id": visit["member"]["id"]}
    assert intake["provider"] == {"id": visit["provider"]["id"]}
    assert intake["room"] == {"id": visit["room"]["id"], "code": visit["room"]["code"]}


def test_node_and_nodes_read_through_the_same_loaders(gateway: Gateway, upstream: Sandbox) -> None:
    visit = gateway.query(CURRENT, token=MEMBER)["data"]["currentVisit"]
    upstream.clear_log()
    body = gateway.query(
        """query Nodes($visit: ID!, $ids: [ID!]!) {
             node(id: $visit) { __typename id ... on Visit { databaseId } }
             nodes(ids: $ids) { __typename id } }""",
        {
            "visit": visit["id"],
            "ids": [visit["id"], visit["intake"]["id"], visit["room"]["id"], visit["member"]["id"]],
        },
        token=MEMBER,
    )
    assert "errors" not in body, body
    assert body["data"]["node"] == {
        "__typename": "Visit",
        "id": visit["id"],
        "databaseId": visit["databaseId"],
    }
    nodes = body["data"]["nodes"]
    assert [n and n["__typename"] for n in nodes] == ["Visit", "Intake", "Room", None]
    assert [n["id"] for n in nodes[:3]] == [visit["id"], visit["intake"]["id"], visit["room"]["id"]]
    # The visit read by `node` and by `nodes` is one call: the loaders deduplicate.
    assert upstream.counts()["GET /visits/{id}"] == 1


def test_ids_of_another_type_or_not_ours_are_refused_before_any_call(
    gateway: Gateway, upstream: Sandbox
) -> None:
    provider = gid("Provider", "523")
    for sent in (provider, "123", "bm90LW91cnM=", "x" * 500):
        body = gateway.query(
            "query One($id: ID!) { visit(id: $id) { id } }", {"id": sent}, token=MEMBER
        )
        assert body["data"]["visit"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert raw_id(provider) == "523"
    too_many = [gid("Visit", i) for i in range(101)]
    body = gateway.query(
        "query Many($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": too_many}, token=MEMBER
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert upstream.total() == 0


def test_one_bad_or_missing_id_nulls_only_its_place_in_nodes(
    gateway: Gateway, upstream: Sandbox
) -> None:
    visit = gateway.query(CURRENT, token=MEMBER)["data"]["currentVisit"]
    upstream.clear_log()
    missing = gid("Visit", "999999999")
    body = gateway.query(
        "query Some($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [visit["id"], "not-a-global-id", missing, visit["intake"]["id"]]},
        token=MEMBER,
    )
    # The readable ids keep their objects; each unreadable one is null with its own error.
    assert body["data"]["nodes"] == [{"id": visit["id"]}, None, None, {"id": visit["intake"]["id"]}]
    errors = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert errors == {("nodes", 1): "BAD_USER_INPUT", ("nodes", 2): "NOT_FOUND"}
    # Every load was made by the time the answer left: nothing goes on calling VSee after it.
    assert upstream.counts() == {"GET /visits/{id}": 2, "GET /intakes/{id}": 1}
