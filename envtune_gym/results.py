"""Tool results as BFCL's executor renders them, and the one speed seam for it: a JSON encoder made once.

``json.dumps`` builds a C encoder on every call, which costs as much as encoding a small result; results are
encoded on every tool call, so :func:`encode_dict` keeps one C encoder (CPython's ``c_make_encoder``, private but
stable since 2.6) with ``json.dumps``' settings. :class:`EncodedResult` / :func:`encode_with` let a tool splice
large constant parts in as pre-encoded JSON. Every output is byte-identical to ``json.dumps``
(tests/test_tools.py and the BFCL conformance suites check it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any


def serialize_result(value: Any) -> str:
    """The string BFCL's executor feeds back for a tool's return value (bfcl-multiturn.md §0.2).

    ``str`` stays as is; a ``dict`` becomes ``json.dumps`` with default separators (``str(dict)`` if it holds
    something JSON cannot encode); anything else becomes ``str(value)`` (``None`` -> ``"None"``).

    Example:
        >>> serialize_result({"a": [1, True]}), serialize_result(None), serialize_result(["x"])
        ('{"a": [1, true]}', 'None', "['x']")
    """
    if type(value) is str:
        return value
    if type(value) is EncodedResult:
        return value.json
    if type(value) is dict:
        try:
            return encode_dict(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


_JSON_ENCODER = json.JSONEncoder()  # json.dumps' defaults, without its per-call argument handling


_UNCHECKED_ENCODER = (  # json.dumps' C encoder and settings, made once, without the circular-reference check
    None
    if c_make_encoder is None
    else c_make_encoder(
        None, _JSON_ENCODER.default, encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
)


def encode_dict(value: dict[str, Any]) -> str:
    """``json.dumps(value)``, fast: ``JSONEncoder.encode`` makes a C encoder on every call, which costs as much as
    encoding a small result. Only a circular value behaves differently unchecked (``RecursionError``): it is
    encoded again, checked, and fails as ``json.dumps`` does."""
    if _UNCHECKED_ENCODER is None:
        return _JSON_ENCODER.encode(value)
    try:
        return "".join(_UNCHECKED_ENCODER(value, 0))
    except RecursionError:
        return _JSON_ENCODER.encode(value)


class EncodedResult(dict):  # type: ignore[type-arg]
    """A dict result that carries its own ``json.dumps`` text, for results with large constant parts.

    The text must be exactly what ``json.dumps`` gives for the dict: a tool that returns thousands of constant
    floats (TradingBot's long-context averages) encodes them once, not on every call. Use :func:`encode_with`.
    """

    json: str


def encode_with(value: dict[str, Any], constants: Mapping[str, str]) -> dict[str, Any]:
    """``value`` as an :class:`EncodedResult` whose keys in ``constants`` are spliced in as pre-encoded JSON.

    ``constants[key]`` must be ``json.dumps(value[key])``. Falls back to the plain dict if ``value`` cannot be
    encoded (``serialize_result`` then gives ``str(value)``, as for any dict).

    Example:
        >>> import json
        >>> data = {"price": 1.5, "series": [0.1, 2.0]}
        >>> encoded = encode_with(data, {"series": json.dumps(data["series"])})
        >>> serialize_result(encoded) == json.dumps(data), encoded == data
        (True, True)
    """
    # json.dumps of a dict is its one-item dicts' texts, unbraced, joined by ", ": encode each item that way
    # (the key exactly as json.dumps writes it), with the constant's text in place of the value's.
    try:
        items = [
            encode_dict({key: None})[1:-5] + constants[key]
            if key in constants
            else encode_dict({key: item})[1:-1]
            for key, item in value.items()
        ]
    except (TypeError, ValueError):
        return value
    result = EncodedResult(value)
    result.json = "{" + ", ".join(items) + "}"
    return result
