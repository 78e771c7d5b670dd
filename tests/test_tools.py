"""The tool layer: schemas derived from code, jsonschema validation, dispatch through declared tools only."""

from __future__ import annotations

import ast
import copy
import json
import pickle
from pathlib import Path
from typing import Literal

import pytest

import envtune_gym
from envtune_gym.domains import DOMAINS, domain_class
from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.tools import (
    FrozenDict,
    FrozenList,
    ToolCallError,
    ToolRegistry,
    encode_with,
    freeze,
    serialize_result,
    spec_of_schema,
    thaw,
    tool,
    tool_specs,
)


class Shop(Domain):
    name = "Shop"
    description = "A tiny shop."

    def load_scenario(self, config, long_context=False):
        self.stock = dict(config.get("stock", {}))
        self.log: list = []
        self._secret = "hidden"

    @tool
    def buy(self, item: str, quantity: int = 1, gift: bool = False) -> dict:
        """Buy an item from the shop.

        Args:
            item (str): The item to buy.
            quantity: How many to buy.
                Must be positive.
            gift: Wrap it as a gift.

        Returns:
            remaining (int): Stock left.
        """
        if self.stock.get(item, 0) < quantity:
            raise ToolError(f"not enough {item}; in stock: {self.stock.get(item, 0)}")
        self.stock[item] -= quantity
        return {"remaining": self.stock[item]}

    @tool
    def tag(
        self, labels: list[str], size: Literal["S", "M"] = "S", note: str | None = None, price: float = 1.5
    ):
        """Tag things.

        Args:
            labels: Labels to add.
            size: Label size.
            note: Optional note.
            price: Price per label.
        """
        self.log.append(labels)
        return None

    @tool
    def crash(self) -> str:
        """Always fails unexpectedly."""
        raise ZeroDivisionError("boom")

    def restock(self, item: str) -> None:
        """Public but not a tool: never callable by an agent."""
        self.stock[item] = 99


@pytest.fixture
def shop() -> Shop:
    domain = Shop()
    domain.load_scenario({"stock": {"apple": 2}})
    return domain


def test_schema_is_derived_from_signature_and_docstring():
    buy, tag, crash = tool_specs(Shop)
    assert buy.to_openai() == {
        "type": "function",
        "function": {
            "name": "buy",
            "description": "A tiny shop. Tool description: Buy an item from the shop.",
            "parameters": {
                "type": "object",
                "properties": {
                    "item": {"type": "string", "description": "The item to buy."},
                    "quantity": {
                        "type": "integer",
                        "description": "How many to buy. Must be positive.",
                        "default": 1,
                    },
                    "gift": {"type": "boolean", "description": "Wrap it as a gift.", "default": False},
                },
                "required": ["item"],
                "additionalProperties": False,
            },
        },
    }
    props = tag.parameters["properties"]
    assert props["labels"]["type"] == "array" and props["labels"]["items"] == {"type": "string"}
    assert props["size"]["enum"] == ["S", "M"]
    assert props["note"]["type"] == ["string", "null"]
    assert props["price"]["type"] == "number"
    assert [spec.name for spec in (buy, tag, crash)] == ["buy", "tag", "crash"]


def test_undocumented_parameter_or_missing_docstring_is_rejected_at_definition():
    class Bad(Domain):
        @tool
        def go(self, where: str) -> None:
            """Go somewhere."""

    with pytest.raises(TypeError, match="not documented"):
        tool_specs(Bad)

    def _private(self) -> None:
        """Private."""

    with pytest.raises(TypeError, match="public"):
        tool(_private)


def test_positional_arguments_bind_in_parameter_order(shop):
    tools = ToolRegistry([shop])
    assert tools.bind("buy", ("apple", 2), {}) == {"item": "apple", "quantity": 2}
    with pytest.raises(ToolCallError, match="both by position and by keyword"):
        tools.bind("buy", ("apple",), {"item": "pear"})
    with pytest.raises(ToolCallError, match="at most 3 positional"):
        tools.bind("buy", ("a", 1, True, 4), {})


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "missing required argument(s) 'item'"),
        ({"item": "apple", "colour": "red"}, "unexpected argument(s) 'colour'"),
        ({"item": 3}, "argument 'item' must be of type string, got int 3"),
        ({"item": "apple", "quantity": True}, "must be of type integer"),
        ({"item": "apple", "quantity": 1.5}, "must be of type integer"),
    ],
)
def test_invalid_arguments_are_rejected_before_the_call_with_the_signature(shop, arguments, message):
    outcome = ToolRegistry([shop]).execute("buy", arguments)
    assert outcome.error == "invalid_arguments"
    error = json.loads(outcome.result)["error"]
    assert message in error and "Signature: buy(item: string" in error
    assert shop.stock == {"apple": 2}


def test_enum_and_nullable_and_number_validation(shop):
    tools = ToolRegistry([shop])
    assert tools.execute("tag", {"labels": ["a"], "size": "XL"}).error == "invalid_arguments"
    assert "must be one of ['S', 'M']" in tools.execute("tag", {"labels": ["a"], "size": "XL"}).result
    assert tools.execute("tag", {"labels": ["a"], "note": None, "price": 2}).error is None
    assert tools.execute("tag", {"labels": [1]}).error == "invalid_arguments"


def test_results_are_serialised_as_bfcl_does(shop):
    tools = ToolRegistry([shop])
    assert tools.execute("buy", {"item": "apple"}).result == '{"remaining": 1}'
    assert tools.execute("tag", {"labels": ["x"]}).result == "None"
    assert serialize_result("plain") == "plain"
    assert serialize_result([{"a": True}]) == "[{'a': True}]"
    assert serialize_result({"x": {1, 2}}) == "{'x': {1, 2}}"  # not JSON-encodable: str(dict), as BFCL
    assert serialize_result({"é": None}) == '{"\\u00e9": null}'
    looped: dict = {"a": 1}
    looped["self"] = looped
    assert serialize_result(looped) == str(looped)  # json.dumps refuses a circular dict: str(), as BFCL
    assert (
        serialize_result({"nan": float("nan"), "big": 10**30})
        == '{"nan": NaN, "big": 1000000000000000000000000000000}'
    )


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "series": [0.1, 2.0], "tail": "x"},
        {"series": "\x00envtune-constant-0\x00", 3: "é", True: None, None: 2.5, 1.5: [1]},  # odd keys as json
        {},
        {"other": 1},  # a constant whose key is absent is ignored
    ],
)
def test_encode_with_gives_json_dumps_text(value):
    constants = {"series": json.dumps(value["series"])} if "series" in value else {"series": "[]"}
    encoded = encode_with(value, constants)
    assert serialize_result(encoded) == json.dumps(value) and encoded == value


def test_encode_with_falls_back_to_the_dict_when_json_cannot_encode_it():
    value = {"series": [1], "x": {1, 2}}
    assert encode_with(value, {"series": "[1]"}) is value
    assert serialize_result(value) == str(value)


def test_tool_errors_and_unexpected_exceptions_become_error_outcomes(shop):
    tools = ToolRegistry([shop])
    outcome = tools.execute("buy", {"item": "apple", "quantity": 5})
    assert outcome.error == "tool_error"
    assert json.loads(outcome.result) == {"error": "not enough apple; in stock: 2"}
    crashed = tools.execute("crash", {})
    assert crashed.error == "execution_error" and "ZeroDivisionError" in crashed.result


@pytest.mark.parametrize(
    "name", ["restock", "_secret", "load_scenario", "state", "__init__", "__class__", "stock", "eval"]
)
def test_only_declared_tools_are_reachable(shop, name):
    tools = ToolRegistry([shop])
    with pytest.raises(ToolCallError) as caught:
        tools.check_known(name)
    assert caught.value.category == "unknown_tool"
    assert shop.stock == {"apple": 2}


def test_unknown_tool_message_suggests_close_names(shop):
    with pytest.raises(ToolCallError, match="Did you mean 'buy'"):
        ToolRegistry([shop]).check_known("byu")
    with pytest.raises(ToolCallError, match=r"Unknown tool 'buy'\. Available tools: crash, tag\."):
        ToolRegistry([shop]).check_known("buy", available=["tag", "crash"])  # held out: not available yet


def test_no_eval_exec_or_compile_anywhere_in_the_package():
    offenders = []
    for path in Path(envtune_gym.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in {"eval", "exec", "compile", "__import__"}:
                    offenders.append(f"{path.name}:{node.lineno} {node.func.id}")
            if isinstance(node, ast.Attribute) and node.attr == "literal_eval":
                offenders.append(f"{path.name}:{node.lineno} literal_eval")
    assert offenders == []


# ----------------------------------------------------------------------------------------------------------------
# Integer parameters: an int, never an integral float (one rule for every tool of every domain)


def _takes_integers(schema: dict) -> bool:
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return "integer" in kinds or ("items" in schema and _takes_integers(schema["items"]))


def _valid_value(schema: dict):
    """A schema-valid value for a parameter (its default, an enum member, or one of its type)."""
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    kind = kind[0] if isinstance(kind, list) else kind
    samples = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "object": {}, "null": None}
    return [_valid_value(schema.get("items", {}))] if kind == "array" else samples[kind]


INTEGER_PARAMETERS = [
    (domain, spec.name, param)
    for domain in DOMAINS
    for spec in tool_specs(domain_class(domain))
    for param, schema in spec.parameters["properties"].items()
    if _takes_integers(schema)
]


def test_the_registry_has_integer_parameters_in_several_domains():
    assert len({domain for domain, _, _ in INTEGER_PARAMETERS}) >= 5 and len(INTEGER_PARAMETERS) >= 15


@pytest.mark.parametrize(("domain", "name", "param"), INTEGER_PARAMETERS, ids=lambda part: str(part))
def test_every_integer_parameter_refuses_an_integral_float_before_the_tool_runs(domain, name, param):
    instance = domain_class(domain)()
    instance.load_scenario({})
    tools = ToolRegistry([instance])
    spec = tools.spec(name)
    properties = spec.parameters["properties"]
    base = {key: _valid_value(properties[key]) for key in spec.parameters["required"]}
    integral = [2.0] if properties[param].get("type") == "array" else 2.0
    whole = [2] if properties[param].get("type") == "array" else 2
    before = copy.deepcopy(instance.state())
    outcome = tools.execute(name, {**base, param: integral})
    assert outcome.error == "invalid_arguments"
    assert f"argument '{param}" in json.loads(outcome.result)["error"]
    assert instance.state() == before  # refused at validation: the tool never ran
    tools.validate(name, {**base, param: whole})  # the same call with an int is valid


def test_an_integral_float_error_says_how_to_write_the_integer(shop):
    outcome = ToolRegistry([shop]).execute("buy", {"item": "apple", "quantity": 2.0})
    assert outcome.error == "invalid_arguments" and shop.stock == {"apple": 2}
    assert (
        "must be of type integer, got float 2.0 (write the integer 2, without a decimal point)"
        in outcome.result
    )


# ----------------------------------------------------------------------------------------------------------------
# Schemas are read-only: validators and every env share them


def test_tool_schemas_are_frozen_so_no_caller_can_change_validation(shop):
    tools = ToolRegistry([shop])
    parameters = tools.spec("buy").parameters
    for change in (
        lambda: parameters["properties"]["quantity"].__setitem__("type", "number"),
        lambda: parameters["properties"].pop("quantity"),
        lambda: parameters["required"].append("gift"),
        lambda: parameters["required"].clear(),
        lambda: parameters.update({"additionalProperties": True}),
        lambda: tools.schemas()[0]["function"]["parameters"]["properties"].clear(),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert tools.execute("buy", {"item": "apple", "quantity": 1.0}).error == "invalid_arguments"
    assert tools.execute("buy", {"item": "apple", "quantity": 1}).error is None


def test_frozen_schemas_read_copy_and_pickle_like_plain_data():
    schema = freeze({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    assert schema == {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert (
        json.dumps(schema)
        == '{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}'
    )
    assert (
        repr(schema["required"]) == "['n']"
        and isinstance(schema, dict)
        and isinstance(schema["required"], list)
    )
    assert copy.deepcopy(schema) is schema and copy.copy(schema) is schema and freeze(schema) is schema
    unpickled = pickle.loads(pickle.dumps(schema))
    assert unpickled == schema and type(unpickled) is FrozenDict and type(unpickled["required"]) is FrozenList
    editable = thaw(schema)
    editable["properties"]["n"]["type"] = "number"
    editable["required"].append("m")
    assert (
        type(editable) is dict
        and schema["properties"]["n"]["type"] == "integer"
        and schema["required"] == ["n"]
    )


def test_a_look_alike_tool_name_is_unknown_and_the_message_names_the_ascii_tool(shop):
    outcome = ToolRegistry([shop]).execute("ｂｕｙ", {"item": "apple"})
    assert outcome.error == "unknown_tool" and shop.stock == {"apple": 2}
    assert "Did you mean 'buy'?" in json.loads(outcome.result)["error"]


def test_a_spec_carries_the_domain_blurb_and_the_summary_apart_and_bfcl_s_description_joins_them():
    from envtune_gym.domains.filesystem import FileSystem

    ls = next(spec for spec in tool_specs(FileSystem) if spec.name == "ls")
    assert ls.domain_description == FileSystem.description and ls.summary
    assert ls.description == f"{FileSystem.description} Tool description: {ls.summary}"
    assert ls.lists and not next(spec for spec in tool_specs(FileSystem) if spec.name == "cat").lists
    # Code holding only a schema reads the fields back, from the frozen schema or an edited copy of it.
    assert spec_of_schema(ls.to_openai()) is ls and spec_of_schema(thaw(ls.to_openai())["function"]) is ls
    assert spec_of_schema({"name": "ls", "description": "someone else's ls"}) is None


def test_a_registry_call_fails_as_its_parts_do_binding_validation_and_availability(shop):
    tools = ToolRegistry([shop])
    arguments, outcome = tools.call("buy", ("apple", 1, False, "extra"), {}, None)
    assert outcome.error == "invalid_arguments" and "positional" in json.loads(outcome.result)["error"]
    arguments, outcome = tools.call("buy", ("apple",), {}, available=())
    assert outcome.error == "unknown_tool" and arguments == {}
    arguments, outcome = tools.call("buy", (), {"item": 3}, None)
    assert arguments == {"item": 3} and outcome == tools.execute("buy", {"item": 3})
    assert shop.stock == {"apple": 2}
