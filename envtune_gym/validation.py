"""Argument validation: a compiled predicate for the hot path, jsonschema as the authority.

Validating every call with ``jsonschema`` costs ~17 us, more than running most tools. The schemas tools produce use
a small subset of JSON Schema (``type``, ``enum``, ``items``, ``properties``, ``required``,
``additionalProperties``), so :func:`compile_schema` turns each into a plain predicate with the semantics of
:data:`SchemaValidator` for that subset. Accepted arguments go straight to the tool; rejected ones go to
:data:`SchemaValidator` for an error message, and if it disagrees, its verdict wins. The test suite checks that the
two agree on generated arguments.

One rule differs from plain JSON Schema: an ``integer`` is a Python ``int`` (never a ``bool``, never a float).
JSON Schema counts ``2.0`` as an integer, but the tools index and slice with their integer parameters
(``tail(lines=2.0)`` fails inside the tool), and passing ``2`` instead would make a successful call's result differ
from the one BFCL's executor prints for the same text (``"priority": 2.0``). So an integral float given to an
integer parameter is ``invalid_arguments``, before the tool runs. No BFCL ground-truth call passes one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

Check = Callable[[Any], bool]


def _is_integer(value: Any) -> bool:
    """An integer argument: an ``int`` that is not a ``bool``; ``2.0`` is not one (see the module docstring)."""
    return isinstance(value, int) and not isinstance(value, bool)


#: The authority on arguments: JSON Schema 2020-12 with the integer rule above (and the source of error messages).
SchemaValidator: type[jsonschema.protocols.Validator] = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: _is_integer(value)
    ),
)

_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, dict),
    "null": lambda value: value is None,
}

_SUPPORTED = {
    "type",
    "enum",
    "items",
    "properties",
    "required",
    "additionalProperties",
    "description",
    "default",
}


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A predicate equivalent to ``SchemaValidator(schema).is_valid`` for the tool subset.

    Example:
        >>> check = compile_schema({"type": "object", "properties": {"n": {"type": "integer"}},
        ...                         "required": ["n"], "additionalProperties": False})
        >>> check({"n": 2}), check({"n": 2.0}), check({"n": True}), check({}), check({"n": 1, "x": 0})
        (True, False, False, False, False)
    """
    unsupported = set(schema) - _SUPPORTED
    if unsupported:
        raise ValueError(f"compile_schema does not support {sorted(unsupported)}")
    object_keywords = "properties" in schema or "required" in schema or "additionalProperties" in schema
    if schema.get("type") == "object" and object_keywords and "enum" not in schema and "items" not in schema:
        return _object_check(schema, objects_only=True)  # every tool's parameters: one call, not three
    checks: list[Check] = []
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    if "enum" in schema:
        checks.append(_enum_check(schema["enum"]))
    if "items" in schema:
        item_check = compile_schema(schema["items"])
        checks.append(lambda value: not isinstance(value, list) or all(item_check(item) for item in value))
    if object_keywords:
        checks.append(_object_check(schema, objects_only=False))
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:  # the common case (a type and one more keyword): no generator on the hot path
        first, second = checks
        return lambda value: first(value) and second(value)
    return lambda value: all(check(value) for check in checks)


def _type_check(kind: str | list[str]) -> Check:
    kinds = [kind] if isinstance(kind, str) else list(kind)
    predicates = [_TYPE_CHECKS[name] for name in kinds]
    if len(predicates) == 1:
        return predicates[0]
    return lambda value: any(predicate(value) for predicate in predicates)


def _enum_check(options: list[Any]) -> Check:
    # jsonschema compares enum members with JSON equality: booleans are not numbers.
    def check(value: Any) -> bool:
        return any(_json_equal(value, option) for option in options)

    return check


def _json_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return left == right


def _object_check(schema: Mapping[str, Any], *, objects_only: bool) -> Check:
    """``properties``, ``required`` and ``additionalProperties``; with ``objects_only`` also ``"type": "object"``.

    A property whose schema is only a plain type is checked inline with ``isinstance`` (most tool arguments).
    """
    properties = {name: compile_schema(sub) for name, sub in schema.get("properties", {}).items()}
    plain_types = {
        name: plain
        for name, sub in schema.get("properties", {}).items()
        if set(sub) <= {"type", "description", "default"} and (plain := _plain_type(sub.get("type")))
    }
    required = tuple(schema.get("required", ()))
    closed = schema.get("additionalProperties", True) is False

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return not objects_only  # "properties" and friends only constrain objects; "type" rejects others
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            plain = plain_types.get(name)
            if plain is not None:
                if not isinstance(item, plain):
                    return False
                continue
            property_check = properties.get(name)
            if property_check is None:
                if closed:
                    return False
            elif not property_check(item):
                return False
        return True

    return check


def _plain_type(kind: Any) -> type | tuple[type, ...] | None:
    """The ``isinstance`` argument equivalent to ``"type": kind`` (one type or a list), if there is one."""
    kinds = [kind] if isinstance(kind, str) else kind
    if not isinstance(kinds, list) or not kinds or not all(item in _PLAIN_TYPES for item in kinds):
        return None
    return _PLAIN_TYPES[kinds[0]] if len(kinds) == 1 else tuple(_PLAIN_TYPES[item] for item in kinds)


#: JSON types whose check is one ``isinstance`` (booleans are their own type; integers and numbers are not).
_PLAIN_TYPES: dict[str, type] = {
    "string": str,
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}
