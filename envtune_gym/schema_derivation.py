r"""Deriving a tool's JSON schema from Python: Google-style docstrings and type annotations.

The tool layer (:mod:`envtune_gym.tools`) builds every tool's schema from its signature and docstring with these,
so no schema is ever kept by hand.

Example:
    >>> parse_docstring("Copy a file.\n\nArgs:\n    source: The file to copy.")
    ('Copy a file.', {'source': 'The file to copy.'})
    >>> json_schema_of(list[int] | None)
    {'type': ['array', 'null'], 'items': {'type': 'integer'}}
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Example|Examples|Note)s?:\s*$"
)
_ARG_LINE = re.compile(r"^(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary text and per-argument descriptions."""
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    for line in lines:
        heading = _SECTION.match(line)
        if heading:
            section = heading.group(1).lower()
            current = None
            continue
        if section == "summary":
            summary.append(line.strip())
        elif section in ("args", "arguments", "parameters") and line.strip():
            match = _ARG_LINE.match(line.strip())
            if match and not line.startswith((" " * 8, "\t\t")):
                current = match.group(1)
                args[current] = match.group(3).strip()
            elif current is not None:
                args[current] = f"{args[current]} {line.strip()}".strip()
    text = " ".join(part for part in summary if part)
    return text, args


def json_schema_of(annotation: Any) -> dict[str, Any]:
    """The JSON schema for a Python annotation (the subset tools use)."""
    origin = get_origin(annotation)
    if annotation is Any or annotation is inspect.Parameter.empty:
        return {}
    if origin is Literal:
        values = list(get_args(annotation))
        return {**json_schema_of(type(values[0])), "enum": values}
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        nullable = len(members) < len(get_args(annotation))
        if len(members) != 1:
            raise TypeError(
                f"unsupported union annotation {annotation!r}: use one type, optionally with None"
            )
        schema = json_schema_of(members[0])
        if nullable and "type" in schema:
            schema = {**schema, "type": [schema["type"], "null"]}
        return schema
    if annotation in (list, tuple) or origin in (list, tuple, Sequence):
        args = get_args(annotation)
        return {"type": "array", **({"items": json_schema_of(args[0])} if args else {})}
    if annotation is dict or origin in (dict, Mapping):
        return {"type": "object"}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if annotation in simple:
        return {"type": simple[annotation]}
    raise TypeError(f"unsupported parameter annotation {annotation!r}")
