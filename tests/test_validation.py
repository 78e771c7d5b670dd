"""The compiled argument check agrees with the jsonschema authority on every schema the tools produce."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envtune_gym.domains import domain_class
from envtune_gym.tools import tool_specs
from envtune_gym.validation import SchemaValidator, compile_schema

EXTRA_SCHEMAS = [
    {
        "type": "object",
        "properties": {
            "labels": {"type": "array", "items": {"type": "string"}},
            "size": {"type": "string", "enum": ["S", "M"]},
            "count": {"type": ["integer", "null"]},
            "ratio": {"type": "number"},
            "flag": {"type": "boolean"},
            "meta": {"type": "object"},
            "anything": {},
        },
        "required": ["labels"],
        "additionalProperties": False,
    },
    {
        "type": "object",
        "properties": {"n": {"type": "integer", "enum": [1, 2]}},
        "additionalProperties": True,
    },
]
SCHEMAS = [spec.parameters for spec in tool_specs(domain_class("GorillaFileSystem"))] + EXTRA_SCHEMAS

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
              st.sampled_from([0, 1, 1.0, 2.0, True, False, "S", "l"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@st.composite
def arguments_for(draw, schema):
    keys = list(schema.get("properties", {})) + ["extra"]
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    return {key: draw(json_values) for key in chosen}


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: ",".join(schema.get("properties", {}))[:40])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_check_agrees_with_jsonschema(schema, data):
    arguments = data.draw(arguments_for(schema))
    assert compile_schema(schema)(arguments) == SchemaValidator(schema).is_valid(arguments)


@pytest.mark.parametrize("check", [compile_schema, lambda schema: SchemaValidator(schema).is_valid])
def test_an_integer_is_an_int_never_an_integral_float_or_a_bool(check):
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "ns": {"type": "array", "items": {"type": "integer"}},
                       "maybe": {"type": ["integer", "null"]}, "x": {"type": "number"}},
        "additionalProperties": False,
    }  # fmt: skip
    is_valid = check(schema)
    assert is_valid({"n": 2, "ns": [0, -3], "maybe": None, "x": 2})
    for bad in ({"n": 2.0}, {"n": -0.0}, {"n": 1e20}, {"n": True}, {"ns": [1, 2.0]}, {"maybe": 3.0}):
        assert not is_valid(bad), bad
    assert (
        is_valid({"x": 2.0}) and is_valid({"x": 2.5}) and not is_valid({"x": False})
    )  # numbers are unchanged


def test_non_object_arguments_and_unsupported_keywords():
    check = compile_schema(SCHEMAS[-2])
    assert check([]) is False and check("x") is False
    with pytest.raises(ValueError, match="does not support"):
        compile_schema({"type": "string", "pattern": "a+"})
