"""kafkalab.schemas: the wire format, hostile records, the registry, and compatibility rules
checked against what fastavro really does when a reader meets a writer's data."""

from __future__ import annotations

import io
import json

import fastavro
import pytest

from kafkalab.orders.avro import ORDER_PLACED_V1, ORDER_PLACED_V2
from kafkalab.schemas import (
    IncompatibleSchema,
    Schema,
    SchemaRegistry,
    WireFormatError,
    deserialize,
    frame,
    incompatibilities,
    serialize,
)

RECORD = {"eventId": "e-1", "orderId": "ORD-1", "timestamp": 1_700_000_000_000, "customerId": "CUST-001",
          "items": [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1}],
          "total": 1500, "note": "ring twice", "channel": "app", "currency": "USD"}


def changed(base: Schema, drop: str | None = None, add: dict | None = None, retype: tuple | None = None) -> Schema:
    s = json.loads(base.schema_str)
    s["fields"] = [f for f in s["fields"] if f["name"] != drop]
    if add:
        s["fields"].append(add)
    if retype:
        for f in s["fields"]:
            if f["name"] == retype[0]:
                f["type"] = retype[1]
    return Schema(json.dumps(s))


VARIANTS = {
    "v1": ORDER_PLACED_V1,
    "v2": ORDER_PLACED_V2,
    "add with default": changed(ORDER_PLACED_V2, add={"name": "discount", "type": "long", "default": 0}),
    "add without default": changed(ORDER_PLACED_V2, add={"name": "loyaltyId", "type": "string"}),
    "drop required": changed(ORDER_PLACED_V2, drop="customerId"),
    "drop with default": changed(ORDER_PLACED_V2, drop="currency"),
    "total long to double": changed(ORDER_PLACED_V2, retype=("total", "double")),
    "total long to int": changed(ORDER_PLACED_V2, retype=("total", "int")),
    "total long to string": changed(ORDER_PLACED_V2, retype=("total", "string")),
    "nullable note": changed(ORDER_PLACED_V2, add={"name": "note", "type": ["null", "string"], "default": None}),
    "channel enum": changed(ORDER_PLACED_V2, retype=("channel", {"type": "enum", "name": "Channel",
                                                                "symbols": ["web", "app"]})),
}


def fastavro_reads(reader: Schema, writer: Schema) -> bool:
    """What Avro itself says: write a record with ``writer``, read it with ``reader``."""
    w = writer.parsed()
    types = {f["name"]: f["type"] for f in json.loads(writer.schema_str)["fields"]}
    full = {**RECORD, "loyaltyId": "L-1", "discount": 5}
    record = {k: v for k, v in full.items() if k in types}
    record["total"] = {"string": "1500", "double": 1500.0}.get(types["total"], 1500)
    out = io.BytesIO()
    fastavro.schemaless_writer(out, w, record)
    try:
        fastavro.schemaless_reader(io.BytesIO(out.getvalue()), w, reader.parsed())
        return True
    except Exception:
        return False


@pytest.mark.parametrize("reader", sorted(VARIANTS))
@pytest.mark.parametrize("writer", sorted(VARIANTS))
def test_compatibility_rules_agree_with_fastavro(reader, writer):
    ours = not incompatibilities(VARIANTS[reader].parsed(), VARIANTS[writer].parsed())
    assert ours == fastavro_reads(VARIANTS[reader], VARIANTS[writer]), \
        incompatibilities(VARIANTS[reader].parsed(), VARIANTS[writer].parsed())


def test_the_sweep_sees_both_answers():
    answers = {not incompatibilities(VARIANTS[r].parsed(), VARIANTS[w].parsed()) for r in VARIANTS for w in VARIANTS}
    assert answers == {True, False}


def test_registry_ids_versions_and_levels():
    reg = SchemaRegistry()
    assert reg.get_compatibility("orders-value") == "BACKWARD"      # Confluent's default
    assert reg.register_schema("orders-value", ORDER_PLACED_V1) == 1
    assert reg.register_schema("orders-value", ORDER_PLACED_V1) == 1  # same schema, same id
    assert reg.register_schema("orders-value", ORDER_PLACED_V2) == 2
    assert reg.get_latest_version("orders-value").version == 2
    assert reg.get_versions("orders-value") == [1, 2]
    # BACKWARD: the new schema must read old data; a new field with no default cannot.
    assert not reg.test_compatibility("orders-value", VARIANTS["add without default"])
    # ... but dropping a required field is fine for BACKWARD (the new reader skips it) ...
    assert reg.test_compatibility("orders-value", VARIANTS["drop required"])
    reg.set_compatibility("orders-value", "FORWARD")
    # ... and refused for FORWARD (old readers need it).
    with pytest.raises(IncompatibleSchema, match="old reader, new data: field 'customerId' is missing"):
        reg.register_schema("orders-value", VARIANTS["drop required"])
    reg.set_compatibility("orders-value", "NONE")
    assert reg.register_schema("orders-value", VARIANTS["drop required"]) == 3
    with pytest.raises(ValueError, match="unknown compatibility level"):
        reg.set_compatibility("orders-value", "SIDEWAYS")


def test_a_registered_schema_must_be_avro():
    with pytest.raises(ValueError, match="not a valid Avro schema"):
        SchemaRegistry().register_schema("x", Schema('{"type": "nosuchtype"}'))
    with pytest.raises(ValueError, match="not a valid Avro schema"):
        SchemaRegistry().register_schema("x", Schema('{"type": '))
    with pytest.raises(ValueError, match="AVRO schemas only"):
        SchemaRegistry().register_schema("x", Schema("{}", schema_type="PROTOBUF"))


def test_round_trip_and_schema_resolution():
    reg = SchemaRegistry()
    data = serialize(reg, "o", RECORD, ORDER_PLACED_V2)
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == 1
    old = deserialize(reg, data, ORDER_PLACED_V1)
    assert old["note"] is None and "currency" not in old and old["channel"] == "app"
    with pytest.raises(ValueError, match="does not fit schema id"):
        serialize(reg, "o", {"orderId": "ORD-1"})


@pytest.mark.parametrize(("data", "reason"), [
    (None, "the record has no value"),
    (b"", "the record is 0 bytes"),
    (b"\x00\x00\x01", "needs at least 5"),
    (b'{"orderId": "ORD-1"}', r"magic byte 0x7b \('\{'\), not 0x00: .* looks like JSON"),
    (b"\x01\x00\x00\x00\x01abc", "magic byte 0x01"),
    (frame(99, b"\x02"), "schema id 99 is not in the registry"),
    (frame(1, b"\x02a"), "the body does not decode with schema id 1"),
])
def test_hostile_records_are_refused_in_one_line(data, reason):
    reg = SchemaRegistry()
    reg.register_schema("o", ORDER_PLACED_V1)
    with pytest.raises(WireFormatError, match=reason) as refused:
        deserialize(reg, data)
    assert "\n" not in str(refused.value)
