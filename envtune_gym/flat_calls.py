"""A fast path for the common shape of BFCL's python-call syntax: flat calls with plain scalar literals.

``ast.parse`` costs ~10 us per call, as much as running a tool. Most actions are like
``[cd(folder='docs'), wc(file_name='a.txt', mode='l'), mean(numbers=[3, 16])]``: names, and strings (with at
most the escapes ``\\n \\t \\\\ \\' \\"``), decimal numbers, ``True``/``False``/``None`` and flat lists of
those. This module reads exactly that shape with regular expressions and gives up (returns ``None``) on anything
else, which then goes through the ``ast`` parser in :mod:`envtune_gym.actions`. For the
texts it accepts it gives the same calls the ``ast`` path gives (a property test checks this).
"""

from __future__ import annotations

import keyword
import re
from typing import Any

# Names are ASCII and read exactly as written: a non-ASCII name (fullwidth ｌｓ) makes this parser give up, and the
# ast path reads it as written too (Python's parser would NFKC-normalise it to ls; see actions._written).
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# Whitespace as Python's tokenizer knows it: re's \s also matches U+3000, U+00A0, \v..., on which ast.parse fails.
_WS = r"[ \t\n\r\f]"
# A string literal: characters read verbatim (no backslash, line end, NUL or lone surrogate) and the simple escapes
# \n \t \\ \' \" (decoded below exactly as Python does); any other escape, or a prefix, gives up.
_VERBATIM = r"[^{quote}\\\n\r\x00\ud800-\udfff]*"
_STRING_BODY = rf"{_VERBATIM}(?:\\[nt\\'\"]{_VERBATIM})*"  # "unrolled": no alternation per character
# Numbers are plain decimals short enough to stay far from Python's int-size limit (no +1, 1_000, 012, 0x1F).
_SCALAR = (
    rf"'{_STRING_BODY.format(quote=chr(39))}'|\"{_STRING_BODY.format(quote=chr(34))}\""
    r"|-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,17})?(?:[eE][+-]?[0-9]{1,2})?|True|False|None"
)
# A flat list of scalars, e.g. numbers=[3, 16].
_LIST = rf"\[{_WS}*(?:(?:{_SCALAR}){_WS}*,{_WS}*)*(?:{_SCALAR})?{_WS}*\]"
_VALUE = rf"{_SCALAR}|{_LIST}"
# An argument and what follows it: a comma, the call's close, both (f(a,)) or neither (not flat).
_ARG = re.compile(rf"(?:({_NAME}){_WS}*={_WS}*({_VALUE})|({_VALUE})){_WS}*(,)?{_WS}*(\))?")
_ITEM = re.compile(_SCALAR)
_CALL_START = re.compile(rf"({_NAME})\({_WS}*(\))?")  # group 2: the call closes at once, f()
_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_SPACES = re.compile(rf"{_WS}*")
_SEPARATOR = re.compile(rf"{_WS}*,{_WS}*")
_INLINE_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")
_END = re.compile(rf"{_WS}*\Z")
_CONSTANTS = {"True": True, "False": False, "None": None}

FlatCall = tuple[str, tuple[Any, ...], dict[str, Any]]


def parse_flat_calls(code: str, stop_after: int | None = None) -> list[FlatCall] | None:
    """``(name, args, kwargs)`` per call if ``code`` is a flat call list of scalar literals, else ``None``.

    With ``stop_after``, reading stops once that many calls and one more were read (the caller then refuses the
    action for holding too many calls), so a huge action costs no more than a short one.

    Example:
        >>> parse_flat_calls("[cd(folder='docs'), tail('a.txt', lines=-2)]")
        [('cd', (), {'folder': 'docs'}), ('tail', ('a.txt',), {'lines': -2})]
        >>> parse_flat_calls("[ls(a=1+1)]") is None  # not flat: the ast parser decides
        True
    """
    if code.startswith("[") and code.endswith("]"):
        text, between_calls = code[1:-1], _SEPARATOR
    elif code[:1].isspace():
        return None  # leading whitespace outside brackets is an indentation question: leave it to ast
    else:  # without brackets the calls form a bare tuple, which a line break would end
        text, between_calls = code, _INLINE_SEPARATOR
    end = len(text)
    calls: list[FlatCall] = []
    pos = _SPACES.match(text).end() if text[:1].isspace() else 0
    while True:  # one regex per call and per argument: the hot path of every step
        parsed = _call(text, pos)
        if parsed is None:
            return None
        call, pos = parsed
        calls.append(call)
        if pos == end:  # the common ending: nothing after the last call
            return calls
        if stop_after is not None and len(calls) > stop_after:
            return calls
        separator = between_calls.match(text, pos)
        if separator is None:
            break
        pos = separator.end()
        if _END.match(text, pos):  # a trailing comma
            break
    return calls if _END.match(text, pos) else None


def _call(text: str, pos: int) -> tuple[FlatCall, int] | None:
    start = _CALL_START.match(text, pos)
    if start is None:
        return None
    name, closed = start.groups()
    if keyword.iskeyword(name):
        return None
    if closed:
        return (name, (), {}), start.end()
    pos = start.end()
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    match_argument = _ARG.match
    while True:
        arg = match_argument(text, pos)
        if arg is None:
            return None
        keyword_name, keyword_value, positional, comma, close = arg.groups()
        if keyword_name is not None:
            if keyword_name in kwargs or keyword.iskeyword(keyword_name):
                return None  # a duplicate is an error: let the ast path report it
            # the most common value, a string without escapes, read in place
            plain = keyword_value[0] in "'\"" and "\\" not in keyword_value
            kwargs[keyword_name] = keyword_value[1:-1] if plain else _value(keyword_value)
        elif kwargs:
            return None  # positional after keyword: a syntax error the ast path reports
        else:
            args.append(_value(positional))
        if close is not None:
            return (name, tuple(args), kwargs), arg.end()
        if comma is None:
            return None
        pos = arg.end()


def _value(literal: str) -> Any:
    first = literal[0]
    if first == "[":
        return [_value(item.group()) for item in _ITEM.finditer(literal, 1)]
    if first in "'\"":
        body = literal[1:-1]
        return _ESCAPE.sub(lambda escape: _ESCAPED[escape.group(1)], body) if "\\" in body else body
    if literal in _CONSTANTS:
        return _CONSTANTS[literal]
    if "." in literal or "e" in literal or "E" in literal:
        return float(literal)  # finite: at most 18 digits and a two-digit exponent
    return int(literal)
