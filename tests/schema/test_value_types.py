"""Embedded values carry VSee's id as `databaseId`, never as an `id` a client cache would key."""

from __future__ import annotations

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema

from gateway.loaders import _specs
from gateway.schema import build_schema
from gateway.schema.billing import Consultation, Invoice, Payment
from gateway.schema.clinical import MedicalProfile, PostVisit, Prescription
from gateway.schema.people import Member
from tests.servers import gid

# Values VSee embeds in a visit, intake or room, with no endpoint to read them again.
VALUE_TYPES = ("Payment", "Invoice", "PostVisit", "Prescription", "Consultation", "MedicalProfile")
# Types with an `id` that is not a Node's: each a stable global id (type + key), see README.
GLOBAL_ID_VALUES = {"Attachment", "Meeting", "Member", "RootVisit", "UserRef", "VisitHost"}


def _schema() -> GraphQLSchema:
    return build_schema()._schema


def test_value_types_have_a_nullable_database_id_and_no_id() -> None:
    schema = _schema()
    for name in VALUE_TYPES:
        kind = schema.type_map[name]
        assert isinstance(kind, GraphQLObjectType)
        assert "id" not in kind.fields, name
        database_id = kind.fields["databaseId"]
        assert not isinstance(database_id.type, GraphQLNonNull), name
        assert database_id.description, name
        assert "null when" in database_id.description, name
        assert kind.description, name
        assert "no `id`" in kind.description, name


def test_every_id_is_a_node_or_a_known_global_id() -> None:
    schema = _schema()
    found = set()
    for name, kind in schema.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        if "id" in kind.fields and not any(i.name == "Node" for i in kind.interfaces):
            found.add(name)
    assert found == GLOBAL_ID_VALUES


def test_embedded_specs_name_fields_the_types_have() -> None:
    schema = _schema()
    for spec, name in (
        (_specs.PAYMENT_SPEC, "Payment"),
        (_specs.INVOICE_SPEC, "Invoice"),
        (_specs.POSTVISIT_SPEC, "PostVisit"),
    ):
        kind = schema.type_map[name]
        assert isinstance(kind, GraphQLObjectType)
        assert set(spec) <= set(kind.fields), (name, set(spec) - set(kind.fields))


def test_the_documented_ids_land_in_database_id() -> None:
    # Values from the docs' examples (seed): GET /visits/:id's payment and prescription,
    # POST /visits/add_econsult's invoice and post-visit notes.
    payment = Payment.from_raw(
        {"duration": None, "amount": "25.00", "id": "615cec5b-14c8-4493-b9ce-365764457b11"}
    )
    assert payment.database_id == "615cec5b-14c8-4493-b9ce-365764457b11"
    assert Payment.from_raw({"duration": 15, "amount": "00.00"}).database_id is None
    invoice = Invoice.from_raw({"status": 10, "id": "6050d2e5-f680-4695-b284-2c8664457b11"})
    assert invoice.database_id == "6050d2e5-f680-4695-b284-2c8664457b11"
    notes = PostVisit.from_raw({"member_id": "14396847", "visit_id": "14814100"})
    assert notes.database_id is None
    assert Prescription.from_raw({"ID": "97316"}).database_id == "97316"
    assert Consultation.from_raw({"id": "c1", "amount": 0}).database_id == "c1"
    profile = MedicalProfile.from_raw({"_id": "553ea41ef468747652d11034", "user_id": "575"})
    assert profile.database_id == "553ea41ef468747652d11034"


def test_a_member_is_no_node_but_has_a_stable_global_id() -> None:
    schema = _schema()
    member = schema.type_map["Member"]
    assert isinstance(member, GraphQLObjectType)
    assert not member.interfaces
    assert isinstance(member.fields["id"].type, GraphQLNonNull)
    assert member.description
    assert "Not a `Node`" in member.description
    assert "no member endpoint" in member.description
    # The same member embedded by two answers (ids as a string and as a number) is one id.
    from_list = Member.from_raw({"id": "575", "first_name": "Keven2"})
    from_detail = Member.from_raw({"id": 575, "photo": None})
    assert from_list.id == from_detail.id == gid("Member", "575")
    assert from_list.id != gid("Provider", "575")
