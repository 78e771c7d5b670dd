"""Model text -> tool calls, without ever running the text.

:func:`parse_action` turns an action (the model's raw text) into :class:`ToolCall` values or a reply, and never
raises. Nothing is evaluated: Python-style calls are read from the ``ast.parse`` tree node by node, JSON with
``json.loads``; names are returned, never resolved (:class:`~envtune_gym.tools.ToolRegistry` does that). Bracket
nesting is measured by a cheap scan before any parser runs, so hostile text cannot recurse; all steps are linear.

Accepted, after the leading ``<think>...</think>`` is removed: ``<tool_call>{"name": ..., "arguments": {...}}
</tool_call>`` blocks (text around them is ignored); a bare JSON call object or list of them; BFCL's
``[cd(folder='docs'), ls(a=True)]`` or ``ls(a=True)``. JSON and Python calls must be the whole text (optionally
fenced with ```` ``` ````): calls wrapped in prose are a reply. Anything else is a reply to the user.

Example:
    >>> parse_action("[cd(folder='docs'), ls(a=True)]").calls
    (ToolCall(name='cd', args=(), kwargs={'folder': 'docs'}), ToolCall(name='ls', args=(), kwargs={'a': True}))
    >>> parse_action("<think>hmm</think>All done.").reply
    'All done.'
    >>> parse_action("[__import__('os').system('id')]").error.category
    'format'
"""

from __future__ import annotations

import ast
import json
import math
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Literal, NamedTuple

from envtune_gym.flat_calls import parse_flat_calls
from envtune_gym.tools import ErrorCategory

__all__ = ("ActionError", "ActionLimits", "ActionParseError", "ParsedAction", "ToolCall")
__all__ += ("format_call", "parse_action", "parse_python_calls", "strip_fences", "strip_think")

ACCEPTED_FORMATS = (
    "Accepted formats: a Python call list [tool_a(arg='value', n=1), tool_b()] (or one call tool_a(arg='value')), "
    'or one <tool_call>{"name": "tool_a", "arguments": {"arg": "value", "n": 1}}</tool_call> block per call. '
    "Argument values must be literals: strings, numbers, True/False/None, lists and dicts."
)
_MAX_INT = 10**4300  # Python's default limit for int <-> decimal string conversion is 4300 digits
_JSON_OVERHEAD = 4  # list, call object, OpenAI "function" wrapper, "arguments" object
_PY_OVERHEAD = 2  # the call list and the call's parentheses
_CALL_KEYS = frozenset({"name", "arguments", "parameters", "id", "type"})
_DELTA = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
_NOT_BRACKETS = re.compile(r"[^\[\](){}]+")
# String literals (an unclosed one runs to the end, so no backtracking) and Python comments: skipped by the scan.
_JSON_STRINGS = re.compile(r'"(?:[^"\\]+|\\.)*"?', re.S)
_PY_STRINGS = re.compile(
    r"""'''(?:[^\\]|\\.)*?(?:'''|\Z)|\"\"\"(?:[^\\]|\\.)*?(?:\"\"\"|\Z)"""
    r"""|'(?:[^'\\\n]+|\\.)*'?|"(?:[^"\\\n]+|\\.)*"?|\#[^\n]*""",
    re.S,
)
_SPACES = re.compile(r"\s*")
# A name as Python's tokenizer reads one: ASCII letters, digits and _, or any non-ASCII character (fullwidth
# "ｌｓ" too: it must be read as a call, refused by name, not taken for a reply).
_NAME_START = r"[A-Za-z_\x80-\U0010ffff]"
_NAME_CHARS = r"[\w.\x80-\U0010ffff]*"
_PY_LIST = re.compile(rf"\[\s*{_NAME_START}{_NAME_CHARS}\s*\(")
_PY_CALL = re.compile(rf"{_NAME_START}{_NAME_CHARS}\(")
# A name token in UTF-8 source, where the parser's positions point (see _WrittenNames).
_WRITTEN_NAME = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
_NEWLINES = re.compile(rb"\r\n|\r|\n")
_TOOL_TAGS = re.compile(r"<tool_call>|</tool_call>")


class _ToolCallFields(NamedTuple):
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class ToolCall(_ToolCallFields):
    """One call: the tool's name, positional argument values and keyword argument values (all plain literals).

    An immutable named tuple (every step makes some: a tuple is made several times faster than a frozen
    dataclass).

    Example:
        >>> ToolCall("mv", ("a.txt",), {"destination": "docs"}).kwargs, ToolCall("pwd")
        ({'destination': 'docs'}, ToolCall(name='pwd', args=(), kwargs={}))
    """

    __slots__ = ()

    def __new__(cls, name: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> ToolCall:
        return super().__new__(cls, name, args, {} if kwargs is None else kwargs)


@dataclass(frozen=True)
class ActionError:
    """Why a whole action was refused: a category from :data:`~envtune_gym.tools.ErrorCategory` and a message."""

    category: ErrorCategory
    message: str


class ParsedAction(NamedTuple):
    """The parse of one action (an immutable named tuple). On error ``calls`` is empty: a refused action runs
    nothing.

    ``reply`` is always the text with thinking removed and whitespace stripped, whatever the format.
    """

    calls: tuple[ToolCall, ...]
    reply: str
    error: ActionError | None
    format: Literal["hermes", "python", "json", "reply", "invalid"]

    @property
    def is_reply(self) -> bool:
        """No calls and no error: the agent answered the user and its turn ends.

        Example:
            >>> parse_action("The file is in docs/.").is_reply, parse_action("ls()").is_reply
            (True, False)
        """
        return not self.calls and self.error is None


@dataclass(frozen=True)
class ActionLimits:
    """Bounds on one action: its length in characters, calls per step, and nesting depth of argument values."""

    max_length: int = 65_536
    max_calls: int = 64  # BFCL has turns of 34 calls (long_context_38, _46); leave room above that
    max_depth: int = 32

    def __post_init__(self) -> None:
        self.validate()  # limits are checked once, when made, not on every parse

    def validate(self) -> None:
        """Raise ``ValueError`` unless every limit is a positive integer (construction already checks).

        Example:
            >>> ActionLimits(max_calls=0)
            Traceback (most recent call last):
            ...
            ValueError: ActionLimits.max_calls must be a positive integer, got 0
        """
        for name in ("max_length", "max_calls", "max_depth"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise ValueError(f"ActionLimits.{name} must be a positive integer, got {value!r}")


class ActionParseError(ValueError):
    """Text that was meant as tool calls but cannot be accepted; ``category`` and an actionable ``message``."""

    def __init__(self, message: str, category: ErrorCategory = "format") -> None:
        super().__init__(message)
        self.category: ErrorCategory = category
        self.message = message


def _fail(problem: str) -> ActionParseError:
    return ActionParseError(f"{problem}. {ACCEPTED_FORMATS}")


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text[: 4 * limit].split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def parse_action(text: str, limits: ActionLimits = ActionLimits()) -> ParsedAction:
    """Parse one action: tool calls, a reply, or an error. Never raises for a ``str``; linear in its length.

    Example:
        >>> parse_action('<tool_call>{"name": "cd", "arguments": {"folder": "docs"}}</tool_call>').calls
        (ToolCall(name='cd', args=(), kwargs={'folder': 'docs'}),)
        >>> parse_action("mv('a.txt', 'b.txt')").calls[0].args
        ('a.txt', 'b.txt')
        >>> bad = parse_action("[ls(a=1+1)]")
        >>> bad.format, bad.error.category, bad.calls
        ('invalid', 'format', ())
        >>> parse_action("x" * 70_000).error.category
        'too_long'
    """
    if len(text) > limits.max_length:
        message = (
            f"The action is {len(text)} characters long; the limit is {limits.max_length}. "
            "Send shorter tool calls or a shorter reply."
        )
        return ParsedAction((), "", ActionError("too_long", message), "invalid")
    reply = strip_think(text)
    try:
        calls, fmt = _detect(reply, limits)
        if len(calls) > limits.max_calls:
            raise _too_many(len(calls), limits.max_calls)
    except ActionParseError as exc:
        return ParsedAction((), reply, ActionError(exc.category, exc.message), "invalid")
    except (RecursionError, MemoryError, SyntaxError, ValueError, OverflowError):
        message = _fail("The tool calls are too large or too deeply nested to parse").message
        return ParsedAction((), reply, ActionError("format", message), "invalid")
    return ParsedAction(calls, reply, None, fmt)


def _too_many(count: int | str, limit: int) -> ActionParseError:
    message = f"{count} tool calls in one step; at most {limit} are allowed. Split them over several steps."
    return ActionParseError(message, "too_many_calls")


def _detect(reply: str, limits: ActionLimits) -> tuple[tuple[ToolCall, ...], str]:
    code = strip_fences(reply) if reply.startswith("`") else reply  # strip_think has stripped whitespace
    if code.startswith("["):
        is_list = _PY_LIST.match(code) is not None
        whole_python = is_list and code.endswith("]")
    else:  # (a call list starts with "[", a single call with a letter)
        is_list = False
        whole_python = code.endswith(")") and _PY_CALL.match(code) is not None
    if not whole_python and "<tool_call>" in reply:  # a tag inside a Python call's string is not a block
        return tuple(_hermes_calls(reply, limits)), "hermes"
    if is_list or whole_python:
        return tuple(_python_calls(code, limits.max_depth, limits.max_calls)), "python"
    if code.startswith(("{", "[")):
        calls = _bare_json_calls(code, limits.max_depth, limits.max_calls)
        if calls is not None:
            return tuple(calls), "json"
    return (), "reply"


def strip_think(text: str) -> str:
    """Remove the leading thinking: ``<think>...</think>`` blocks, or text up to a ``</think>`` that comes first
    (the chat template opened the block); an unclosed leading ``<think>`` means it is all thinking. Tags later
    in the text are kept: they may be part of an argument value.

    Example:
        >>> strip_think("plan</think> <think>more</think>Hi"), strip_think("<think>still thinking")
        ('Hi', '')
    """
    if "think>" not in text:  # the common case: nothing to remove
        return text.strip()
    pos, close, first_open = 0, text.find("</think>"), text.find("<think>")
    if close != -1 and (first_open == -1 or close < first_open):
        pos = close + len("</think>")  # the chat template opened the think block
    pos = _SPACES.match(text, pos).end()
    while text.startswith("<think>", pos):
        end = text.find("</think>", pos)
        if end == -1:
            return ""
        pos = _SPACES.match(text, end + len("</think>")).end()
    return text[pos:].rstrip()


def strip_fences(text: str) -> str:
    """Strip whitespace and a surrounding ```` ``` ```` / ```` ```json ```` / ```` ```python ```` fence or backticks.

    Example:
        >>> strip_fences("```python\\n[ls()]\\n```"), strip_fences("`ls()`")
        ('[ls()]', 'ls()')
    """
    text = text.strip()
    if text.startswith("```"):
        inner = text[3:-3] if text.endswith("```") and len(text) >= 6 else text[3:]
        first, newline, rest = inner.partition("\n")
        if newline and re.fullmatch(r"[\w+-]*\s*", first):
            inner = rest
        text = inner.strip()
    if len(text) >= 2 and text[0] == "`" and text[-1] == "`":
        text = text.strip("`").strip()
    return text


# CPython 3.11's AST conversion keeps its recursion-depth bookkeeping per interpreter, not per thread: threads
# parsing at once can fail with "SystemError: AST constructor recursion depth mismatch" (a threaded
# `envtune eval` did, on Python 3.11.7). Parsing one action at a time costs nothing measurable.
_PARSE_LOCK = threading.Lock()


def _parse_expression(code: str) -> ast.expr:
    with _PARSE_LOCK:
        if "\\" not in code:
            return ast.parse(code, mode="eval").body
        with (
            warnings.catch_warnings()
        ):  # invalid escape sequences in the model's strings warn; silence them here
            warnings.simplefilter("ignore")
            return ast.parse(code, mode="eval").body


def _check_nesting(text: str, strings: re.Pattern[str], max_depth: int, overhead: int) -> str:
    """Fail if brackets outside string literals nest too deep, before any recursive parser sees the text.

    ``overhead`` allows for the brackets around the values (call list, call object, ...); the exact depth of each
    value is checked again once parsed. Returns the brackets, in order.
    """
    brackets = _NOT_BRACKETS.sub("", strings.sub("", text))
    if max(accumulate(map(_DELTA.__getitem__, brackets)), default=0) > max_depth + overhead:
        raise _too_deep(max_depth)
    return brackets


def _too_deep(limit: int) -> ActionParseError:
    return _fail(f"Brackets nest too deeply: argument values may nest lists/dicts at most {limit} levels")


def _hermes_blocks(text: str) -> Iterator[str]:
    """The contents of ``<tool_call>`` blocks; a block also ends at the next opening tag or the end of the text."""
    start: int | None = None
    for tag in _TOOL_TAGS.finditer(text):
        if start is not None:
            yield text[start : tag.start()]
        start = tag.end() if tag.group() == "<tool_call>" else None
    if start is not None:
        yield text[start:]


def _hermes_calls(text: str, limits: ActionLimits) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for number, block in enumerate(_hermes_blocks(text), 1):
        where = f"<tool_call> block {number}"
        content = strip_fences(block)
        if not content:
            raise _fail(f'{where} is empty; expected {{"name": "tool", "arguments": {{...}}}} inside it')
        value = _loads(content, where, limits.max_depth, _JSON_OVERHEAD)
        items = value if isinstance(value, list) else [value]
        if not items:
            raise _fail(f"{where} holds an empty list; expected one call object or a list of them")
        if len(calls) + len(items) > limits.max_calls:
            raise _too_many(len(calls) + len(items), limits.max_calls)
        calls.extend(_json_call(item, where, limits.max_depth) for item in items)
    return calls


def _bare_json_calls(code: str, max_depth: int, max_calls: int) -> list[ToolCall] | None:
    """Calls from a bare JSON call object/list; ``None`` when the text is not a call (then it is a reply)."""
    if (
        code.count("[") + code.count("{") > max_depth + _JSON_OVERHEAD
    ):  # too deep is an error even for a reply
        _check_nesting(code, _JSON_STRINGS, max_depth, _JSON_OVERHEAD)
    try:
        value = _decode(code, "The JSON call")
    except ActionParseError:
        if '"name"' in code:  # malformed, but clearly meant as a call
            raise
        return None
    items = value if isinstance(value, list) else [value]
    if not any(_is_call_object(item) for item in items):
        return None
    if len(items) > max_calls:
        raise _too_many(len(items), max_calls)
    return [_json_call(item, f"call {i}", max_depth) for i, item in enumerate(items, 1)]


def _is_call_object(value: Any) -> bool:
    return isinstance(value, dict) and ("name" in value or isinstance(value.get("function"), dict))


def _loads(text: str, where: str, max_depth: int, overhead: int) -> Any:
    if text.count("[") + text.count("{") > max_depth + overhead:  # only then can it nest too deep
        _check_nesting(text, _JSON_STRINGS, max_depth, overhead)
    return _decode(text, where)


def _decode(text: str, where: str) -> Any:
    try:
        return _JSON_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        problem = f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}"
        near = _short(text[max(0, exc.pos - 30) : exc.pos + 30])
        raise _fail(f'{problem}, near {near}); expected {{"name": "tool", "arguments": {{...}}}}') from None


def _json_number(text: str) -> int | float:
    if text.lstrip("-").isdigit():
        if len(text.lstrip("-")) > 4300:
            raise _fail("An integer has more than 4300 digits")
        return int(text)
    return _number(float(text))  # NaN, Infinity and 1e999 are refused there


_JSON_DECODER = json.JSONDecoder(
    parse_int=_json_number, parse_float=_json_number, parse_constant=_json_number
)


def _json_call(item: Any, where: str, max_depth: int) -> ToolCall:
    if isinstance(item, dict) and "name" not in item and isinstance(item.get("function"), dict):
        item = item["function"]  # OpenAI's {"type": "function", "function": {...}}
    if not isinstance(item, dict):
        kind = type(item).__name__
        raise _fail(f'{where}: expected a call object {{"name": ..., "arguments": {{...}}}}, got {kind}')
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(f'{where}: "name" must be the tool name as a non-empty string, got {_short(repr(name))}')
    if not _CALL_KEYS.issuperset(item):
        extra = sorted(set(item) - _CALL_KEYS)
        raise _fail(f'{where} ({name}): unexpected key(s) {extra}; put all arguments under "arguments"')
    if "arguments" in item and "parameters" in item:
        raise _fail(f'{where} ({name}): give "arguments" or "parameters", not both')
    arguments = item.get("arguments", item.get("parameters"))
    if isinstance(arguments, str):  # OpenAI sends the arguments JSON-encoded
        arguments = (
            _loads(arguments, f'{where} ({name}) "arguments"', max_depth, 1) if arguments.strip() else None
        )
    arguments = {} if arguments is None else arguments
    if not isinstance(arguments, dict):
        kind = type(arguments).__name__
        raise _fail(f'{where} ({name}): "arguments" must be an object {{"name": value}}, got {kind}')
    for key, value in arguments.items():
        if not key.isidentifier():
            _check_keyword(key, name)
        if isinstance(value, (list, dict)) and _depth(value, max_depth) > max_depth:
            raise _too_deep(max_depth)
    return ToolCall(name, (), arguments)  # freshly decoded: nothing else holds it


def _depth(value: Any, limit: int, level: int = 0) -> int:
    """Nesting of lists/dicts in a JSON value (stops counting past ``limit``)."""
    if level > limit or not isinstance(value, (list, dict)):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, limit, level + 1) for child in children), default=level + 1)


def _check_keyword(key: str, name: str) -> None:
    if not key.isidentifier():
        raise _fail(f"{name}: argument name {_short(key)} is not a valid identifier")


def _number(value: int | float) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail("Numbers must be finite (no inf or nan)")
    if isinstance(value, int) and abs(value) >= _MAX_INT:
        raise _fail("An integer has more than 4300 digits")
    return value


def parse_python_calls(text: str, *, max_depth: int = 32) -> list[ToolCall]:
    """Parse ``[tool(k='v', n=1), other()]`` or ``tool(...)``; raise :class:`ActionParseError` if not acceptable.

    Only plain tool names and literal values are accepted; tuples become lists.

    Example:
        >>> parse_python_calls("[rm(file_name='a'), mv('x', destination=-2.5)]")
        [ToolCall(name='rm', args=(), kwargs={'file_name': 'a'}), ToolCall(name='mv', args=('x',), kwargs={'destination': -2.5})]
        >>> try:
        ...     parse_python_calls("[os.system('id')]")
        ... except ActionParseError as exc:
        ...     print(exc.category, exc.message[:49])
        format Only plain tool names can be called, e.g. ls(...)
    """
    return _python_calls(strip_fences(text), max_depth, None)


def _python_calls(code: str, max_depth: int, max_calls: int | None) -> list[ToolCall]:
    flat = parse_flat_calls(code, max_calls)  # the common flat shape, read without ast (see flat_calls)
    if flat is not None:
        if max_calls is not None and len(flat) > max_calls:
            raise _too_many(f"More than {max_calls}", max_calls)
        return [ToolCall._make(call) for call in flat]  # flat calls are (name, args, kwargs) already
    parens = code.count("(")
    # Nesting cannot exceed the number of opening brackets: scan only when the count allows too deep a text.
    if parens + code.count("[") + code.count("{") > max_depth + _PY_OVERHEAD or (
        max_calls is not None and parens > 2 * max_calls
    ):
        brackets = _check_nesting(code, _PY_STRINGS, max_depth, _PY_OVERHEAD)
        if max_calls is not None and _call_parens(brackets) > 2 * max_calls:  # (at most 2 per call)
            raise _too_many(f"More than {max_calls}", max_calls)  # a cheap guard before building a huge tree
    try:
        body = _parse_expression(code)
    except SyntaxError as exc:
        if "Exceeds the limit" in str(exc.msg):
            raise _fail("An integer has more than 4300 digits") from None
        where = f"line {exc.lineno}, column {exc.offset}"
        raise _fail(f"Could not parse the tool calls: {exc.msg} ({where})") from None
    except ValueError as exc:  # NUL bytes (Python 3.10), lone surrogates
        raise _fail(f"Could not parse the tool calls: {_short(str(exc))}") from None
    nodes = body.elts if isinstance(body, (ast.List, ast.Tuple)) else [body]
    if max_calls is not None and len(nodes) > max_calls:
        raise _too_many(len(nodes), max_calls)
    names = None if code.isascii() else _WrittenNames(code)  # (isascii is O(1) on str)
    return [_python_call(node, code, max_depth, names) for node in nodes]


def _call_parens(brackets: str) -> int:
    """How many ``(`` open at the level of the calls: 0 in ``f(), g()``, 1 in ``[f(), g()]``."""
    level = 2 if brackets.startswith("[") else 1
    depths = accumulate(map(_DELTA.__getitem__, brackets))
    return sum(1 for char, depth in zip(brackets, depths, strict=True) if char == "(" and depth == level)


def _python_call(node: ast.expr, code: str, max_depth: int, names: _WrittenNames | None) -> ToolCall:
    if not isinstance(node, ast.Call):
        raise _fail(f"Expected a tool call such as ls(a=True), got {_source(code, node)}")
    if not isinstance(node.func, ast.Name):
        raise _fail(f"Only plain tool names can be called, e.g. ls(...); got {_source(code, node.func)}")
    name = node.func.id if names is None else names.of(node.func)
    args = []
    for position, arg in enumerate(node.args, 1):
        if isinstance(arg, ast.Starred):
            raise _fail(f"{name}: *unpacking is not allowed; write the arguments out as literal values")
        args.append(_literal(arg, code, f"{name}: positional argument {position}", max_depth))
    kwargs: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise _fail(f"{name}: **unpacking is not allowed; write each argument as name=literal")
        arg = keyword.arg if names is None else names.of(keyword)
        if arg in kwargs:
            raise _fail(f"{name}: argument {arg!r} is given more than once")
        kwargs[arg] = _literal(keyword.value, code, f"{name}: argument {arg!r}", max_depth)
    return ToolCall(name, tuple(args), kwargs)


class _WrittenNames:
    """Tool and argument names exactly as written in non-ASCII ``code``.

    Python's parser NFKC-normalises identifiers (``ｌｓ`` becomes ``ls``, ``ａ=1`` becomes ``a=1``); tools and
    parameters match exactly as written (as in the JSON formats and the flat-call parser), so a look-alike name is
    an unknown tool or an unexpected argument, never another tool. The parser's positions are UTF-8 byte offsets
    per line: the text is encoded once and each name read in place, so many names stay linear in the text
    (``ast.get_source_segment`` splits the whole text for every node).
    """

    def __init__(self, code: str) -> None:
        self._data = code.encode()  # ast.parse accepted it: no lone surrogates
        self._line_starts = [0, *(newline.end() for newline in _NEWLINES.finditer(self._data))]

    def of(self, node: ast.Name | ast.keyword) -> str:
        """The name of a called ``Name`` or of a ``keyword`` argument (whose text starts with it), as written."""
        start = self._line_starts[node.lineno - 1] + node.col_offset
        written = _WRITTEN_NAME.match(self._data, start)
        if written is None:  # not expected: the parser put a name there; keep its reading
            return node.id if isinstance(node, ast.Name) else str(node.arg)
        return written.group().decode()


def _literal(node: ast.expr, code: str, where: str, max_depth: int, depth: int = 0) -> Any:
    """The value of a literal node: constants, signed numbers, lists, tuples (as lists) and dicts only."""
    if isinstance(node, ast.Constant) and type(node.value) in (str, int, float, bool, type(None)):
        return _number(node.value) if type(node.value) in (int, float) else node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = node.operand.value if isinstance(node.operand, ast.Constant) else None
        if type(value) in (int, float):
            return _number(-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, (ast.List, ast.Tuple, ast.Dict)):
        if depth + 1 > max_depth:
            raise _too_deep(max_depth)
        if isinstance(node, ast.Dict):
            return _literal_dict(node, code, where, max_depth, depth + 1)
        return [_literal(item, code, where, max_depth, depth + 1) for item in node.elts]
    raise _fail(
        f"{where} is {_source(code, node)}, which is not a literal value. Values must be written out literally "
        "(no variables, expressions, calls, lambdas or f-strings)"
    )


def _literal_dict(node: ast.Dict, code: str, where: str, max_depth: int, depth: int) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in zip(node.keys, node.values, strict=True):
        if key_node is None:
            raise _fail(f"{where}: **unpacking inside a dict is not allowed")
        key = _literal(key_node, code, where, max_depth, depth)
        if isinstance(key, (list, dict)):
            raise _fail(f"{where}: dict keys must be strings or numbers")
        result[key] = _literal(value_node, code, where, max_depth, depth)
    return result


def _source(code: str, node: ast.AST) -> str:
    return _short(ast.get_source_segment(code, node) or type(node).__name__)


def format_call(call: ToolCall) -> str:
    """Render a call BFCL-style: positional values first, then ``name=value``, each value as its ``repr``.

    Example:
        >>> format_call(ToolCall("mv", ("a.txt",), {"destination": "docs", "force": True}))
        "mv('a.txt', destination='docs', force=True)"
        >>> parse_python_calls(format_call(ToolCall("f", (-1, [2.5, None]), {"d": {"k": "v"}})))
        [ToolCall(name='f', args=(-1, [2.5, None]), kwargs={'d': {'k': 'v'}})]
    """
    parts = [repr(value) for value in call.args]
    parts.extend(f"{key}={value!r}" for key, value in call.kwargs.items())
    return f"{call.name}({', '.join(parts)})"
