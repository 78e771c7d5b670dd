"""The tool layer: JSON schemas derived from typed, documented methods; validation; dispatch without ``eval``.

A tool is a public method of a :class:`~envtune_gym.domains.base.Domain` marked with :func:`tool`. Its JSON schema
(OpenAI function format) comes from the signature and the Google-style docstring, never from a hand-kept copy.
Calls are dispatched through an explicit name -> bound method map: a name that is not a declared tool (a private
method, an attribute, a builtin) can never run.

Example:
    >>> from envtune_gym.domains.base import Domain
    >>> class Counter(Domain):
    ...     name = "Counter"
    ...     description = "A counter."
    ...     def load_scenario(self, config, long_context=False):
    ...         self.value = config.get("value", 0)
    ...     @tool
    ...     def add(self, amount: int = 1) -> dict:
    ...         '''Add to the counter.
    ...
    ...         Args:
    ...             amount: How much to add.
    ...         '''
    ...         self.value += amount
    ...         return {"value": self.value}
    >>> counter = Counter()
    >>> counter.load_scenario({"value": 2})
    >>> tools = ToolRegistry([counter])
    >>> tools.execute("add", tools.bind("add", (3,), {})).result
    '{"value": 5}'
    >>> tools.execute("add", {"amount": "x"}).error
    'invalid_arguments'
"""

from __future__ import annotations

import copy
import difflib
import functools
import inspect
import json
import typing
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

import jsonschema

from envtune_gym.domains.base import IMMUTABLE_SCALARS, Domain, ToolError, fresh

# thaw, FrozenDict and FrozenList are re-exported: errors and docs name them as envtune_gym.tools.*
from envtune_gym.frozen import FrozenDict as FrozenDict
from envtune_gym.frozen import FrozenList as FrozenList
from envtune_gym.frozen import freeze
from envtune_gym.frozen import thaw as thaw
from envtune_gym.results import EncodedResult as EncodedResult
from envtune_gym.results import encode_dict, serialize_result
from envtune_gym.results import encode_with as encode_with
from envtune_gym.schema_derivation import json_schema_of, parse_docstring
from envtune_gym.validation import SchemaValidator, compile_schema

F = TypeVar("F", bound=Callable[..., Any])

#: The error categories a call (or a whole action) can fail with; ``None`` in ``info["calls"]`` means success.
ErrorCategory = Literal[
    "format",  # the action text looked like a tool call but could not be parsed
    "too_long",  # the action text exceeded the configured maximum length
    "too_many_calls",  # more calls in one step than the configured maximum
    "unknown_tool",  # the name is not a tool available now (private, held out, misspelt, ...)
    "invalid_arguments",  # arguments did not match the tool's JSON schema
    "tool_error",  # the tool ran and reported an expected failure (``{"error": ...}``)
    "execution_error",  # the tool raised an unexpected exception
]

_TOOL_MARK = "__envtune_tool__"


@typing.overload
def tool(method: F, /) -> F: ...
@typing.overload
def tool(*, lists: bool = False) -> Callable[[F], F]: ...
def tool(method: F | None = None, /, *, lists: bool = False) -> F | Callable[[F], F]:
    """Declare a domain method a tool. Only declared, public methods can ever be called by an agent.

    Args:
        method: the method (when used as a bare ``@tool``).
        lists: the tool lists what exists (files, orders, contacts). Hints point an agent that named something
            unknown to the domain's listing tools that take no required argument (``ToolSpec.lists``).

    Example:
        >>> class Greeter(Domain):
        ...     @tool
        ...     def hello(self, who: str) -> str:
        ...         '''Say hello.
        ...
        ...         Args:
        ...             who: The name to greet.
        ...         '''
        ...         return f"hello {who}"
        ...     @tool(lists=True)
        ...     def friends(self) -> list:
        ...         '''List the friends to greet.'''
        ...         return ["ada"]
        >>> [(spec.name, spec.lists) for spec in tool_specs(Greeter)]
        [('hello', False), ('friends', True)]
    """

    def mark(function: F) -> F:
        if function.__name__.startswith("_"):
            raise TypeError(f"tool {function.__name__!r}: a tool must be a public method")
        setattr(function, _TOOL_MARK, {"lists": lists})
        return function

    return mark if method is None else mark(method)


class ToolCallError(Exception):
    """A call that cannot run: its category (see :data:`ErrorCategory`) and a message a model can act on."""

    def __init__(self, category: ErrorCategory, message: str) -> None:
        super().__init__(message)
        self.category: ErrorCategory = category
        self.message = message

    def outcome(self) -> CallOutcome:
        """The failed call's outcome: ``{"error": message}`` as the result, and the category."""
        return CallOutcome(_error_result(self.message), self.category)


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, what it does, its JSON-schema parameters and the order positional arguments bind in.

    Attributes:
        name: the tool (method) name.
        domain: BFCL's class name of the domain that declares it.
        summary: the tool's own description (its docstring's summary).
        parameters: the JSON schema of its arguments (frozen: shared by the whole process).
        param_order: parameter names in signature order (how positional arguments bind).
        domain_description: the domain's blurb, which BFCL puts in front of every tool's description.
        lists: the tool lists what exists (see :func:`tool`).
    """

    name: str
    domain: str
    summary: str
    parameters: dict[str, Any]
    param_order: tuple[str, ...]
    domain_description: str = ""
    lists: bool = False

    @property
    def description(self) -> str:
        """The description BFCL shows a model: the domain's blurb, then ``Tool description:`` and the summary."""
        if not self.domain_description:
            return self.summary
        return f"{self.domain_description} Tool description: {self.summary}"

    def to_openai(self) -> dict[str, Any]:
        """The tool in OpenAI function-calling format, as chat templates and APIs take it."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def signature(self) -> str:
        """A Python-style signature for messages, e.g. ``tail(file_name: string, lines: integer = 10)``."""
        return signature_of(self.name, self.parameters)


def signature_of(name: str, parameters: Mapping[str, Any]) -> str:
    """The Python-style signature of a tool from its JSON-schema ``parameters`` (properties in parameter order).

    Example:
        >>> signature_of("tail", {"properties": {"file_name": {"type": "string"},
        ...                                      "lines": {"type": "integer", "default": 10}}, "required": ["file_name"]})
        'tail(file_name: string, lines: integer = 10)'
    """
    props = parameters.get("properties", {})
    required = set(parameters.get("required", ()))
    parts = []
    for param, schema in props.items():
        kind = schema.get("type", "any")
        kind = "|".join(kind) if isinstance(kind, list) else kind
        parts.append(f"{param}: {kind}" + ("" if param in required else f" = {schema.get('default')!r}"))
    return f"{name}({', '.join(parts)})"


class CallOutcome(NamedTuple):
    """What one executed call produced: the result string BFCL's executor would print, and an error category.

    An immutable named tuple: every call makes one.
    """

    result: str
    error: ErrorCategory | None = None


# ----------------------------------------------------------------------------------------------------------------
# Schema derivation


def _build_spec(domain_cls: type[Domain], method: Callable[..., Any]) -> ToolSpec:
    if not method.__doc__:
        raise TypeError(
            f"tool {domain_cls.__name__}.{method.__name__} needs a docstring: it becomes the schema"
        )
    summary, arg_docs = parse_docstring(method.__doc__)
    hints = typing.get_type_hints(method)
    properties: dict[str, Any] = {}
    required: list[str] = []
    order: list[str] = []
    for param in list(inspect.signature(method).parameters.values())[1:]:  # skip self
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {method.__name__}: *args/**kwargs cannot be described by a schema")
        if param.name not in arg_docs:
            raise TypeError(f"tool {method.__name__}: parameter {param.name!r} is not documented under Args:")
        schema = json_schema_of(hints.get(param.name, Any))
        schema["description"] = arg_docs[param.name]
        if param.default is param.empty:
            required.append(param.name)
        else:
            schema["default"] = param.default
        properties[param.name] = schema
        order.append(param.name)
    parameters = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    jsonschema.Draft202012Validator.check_schema(parameters)
    # Frozen: specs are shared by the whole process (validators, every env's info["tools"]); see FrozenDict.
    spec = ToolSpec(
        name=method.__name__,
        domain=domain_cls.name,
        summary=summary,
        parameters=freeze(parameters),
        param_order=tuple(order),
        domain_description=domain_cls.description,
        lists=getattr(method, _TOOL_MARK)["lists"],
    )
    _SPECS_BY_SCHEMA[(spec.name, spec.description)] = spec
    return spec


#: Every derived spec by its OpenAI schema's (name, description): how code that holds only a schema (hints, the
#: agent's compact prompt) reads the summary and the domain's blurb as fields instead of splitting the text.
_SPECS_BY_SCHEMA: dict[tuple[str, str], ToolSpec] = {}


def spec_of_schema(schema: Mapping[str, Any]) -> ToolSpec | None:
    """The spec an OpenAI-format schema was made from (as in ``info["tools"]``), or ``None`` for a foreign one.

    Takes the ``{"type": "function", "function": {...}}`` form or its inner ``function`` dict.

    Example:
        >>> from envtune_gym.domains.ticket import TicketAPI
        >>> schema = tool_specs(TicketAPI)[0].to_openai()
        >>> spec_of_schema(schema).summary == tool_specs(TicketAPI)[0].summary
        True
    """
    function = schema.get("function", schema)
    return _SPECS_BY_SCHEMA.get((function.get("name", ""), function.get("description", "")))


@functools.cache
def tool_specs(domain_cls: type[Domain]) -> tuple[ToolSpec, ...]:
    """Every tool a domain class declares, in definition order (derived once per class, then cached)."""
    specs = []
    seen: set[str] = set()
    for klass in reversed(domain_cls.__mro__):
        for attr, member in vars(klass).items():
            if callable(member) and getattr(member, _TOOL_MARK, False) and attr not in seen:
                seen.add(attr)
    for attr in _definition_order(domain_cls, seen):
        specs.append(_build_spec(domain_cls, getattr(domain_cls, attr)))
    return tuple(specs)


def _definition_order(domain_cls: type[Domain], names: set[str]) -> list[str]:
    ordered: list[str] = []
    for klass in reversed(domain_cls.__mro__):
        ordered.extend(attr for attr in vars(klass) if attr in names and attr not in ordered)
    return ordered


@functools.cache
def _spec_map(domain_cls: type[Domain]) -> dict[str, ToolSpec]:
    """A domain class's tools by name (built once; callers copy it, never change it)."""
    return {spec.name: spec for spec in tool_specs(domain_cls)}


@dataclass(frozen=True)
class _Validators:
    schema: jsonschema.protocols.Validator  # the authority, and the source of error messages
    fast: Callable[[Any], bool]  # compiled equivalent for the hot path (see envtune_gym.validation)


@functools.cache
def _validators(domain_cls: type[Domain], name: str) -> _Validators:
    spec = next(spec for spec in tool_specs(domain_cls) if spec.name == name)
    return _Validators(SchemaValidator(spec.parameters), compile_schema(spec.parameters))


# ----------------------------------------------------------------------------------------------------------------
# Results


def _error_result(message: str) -> str:
    return encode_dict({"error": message})


class _Layout:
    """The tools of a tuple of domain classes, shared by every registry over such domains (one per reset):
    specs by name, the index of each tool's domain, and the validators, made on first use of each tool."""

    def __init__(self, classes: tuple[type[Domain], ...]) -> None:
        self.classes = classes
        self.specs: dict[str, ToolSpec] = {}
        self.owner_index: dict[str, int] = {}
        for index, domain_cls in enumerate(classes):
            for name, spec in _spec_map(domain_cls).items():  # a later domain's tool of the same name wins
                self.specs[name] = spec
                self.owner_index[name] = index
        self._validators: dict[str, _Validators] = {}

    def validators(self, name: str) -> _Validators:
        found = self._validators.get(name)
        if found is None:
            found = self._validators[name] = _validators(self.classes[self.owner_index[name]], name)
        return found

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles refer to the process's layout by its classes (jsonschema validators don't pickle).
        return _layout, (self.classes,)


@functools.cache
def _layout(classes: tuple[type[Domain], ...]) -> _Layout:
    return _Layout(classes)


# ----------------------------------------------------------------------------------------------------------------
# The registry


class ToolRegistry:
    """Validates and dispatches calls to the tools of a set of domain instances.

    Names are looked up in an explicit map built from the declared tools; nothing else is reachable. If two
    domains declared the same name, the later one wins, as in BFCL (none of BFCL's do).
    """

    def __init__(self, domains: Iterable[Domain]) -> None:
        # Every reset builds a registry: all but the domains is shared by registries over the same classes.
        self._domains = tuple(domains)
        self._layout = _layout(tuple(type(domain) for domain in self._domains))
        self._specs = self._layout.specs  # read-only
        self._owner_index = self._layout.owner_index

    def __deepcopy__(self, memo: dict[int, Any]) -> ToolRegistry:
        # Only the domains are state: an env snapshot copies them (shared through memo with the episode's own
        # map) and shares the layout, which copying would otherwise dominate (specs, schemas, validators).
        copied = ToolRegistry.__new__(ToolRegistry)
        copied._domains = copy.deepcopy(self._domains, memo)
        copied._layout, copied._specs, copied._owner_index = self._layout, self._specs, self._owner_index
        return copied

    @property
    def names(self) -> tuple[str, ...]:
        """Every tool name, in domain then definition order."""
        return tuple(self._specs)

    def spec(self, name: str) -> ToolSpec:
        """The spec of a known tool (``KeyError`` otherwise)."""
        return self._specs[name]

    def schemas(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """OpenAI-format schemas of the given tools (all by default), in registry order."""
        wanted = self._specs if names is None else set(names)
        return [spec.to_openai() for name, spec in self._specs.items() if name in wanted]

    def check_known(self, name: str, available: Iterable[str] | None = None) -> ToolSpec:
        """The spec of ``name`` if it is a tool available now, else an ``unknown_tool`` error naming close ones."""
        pool = self._specs if available is None else available
        if name in self._specs and name in pool:
            return self._specs[name]
        raise self._unknown_tool(name, available)

    def _unknown_tool(self, name: str, available: Iterable[str] | None) -> ToolCallError:
        pool = self._specs if available is None else available
        # Names match exactly as written; a look-alike (fullwidth ｌｓ) is suggested by its NFKC form.
        plain = name if name.isascii() else unicodedata.normalize("NFKC", name)
        close = difflib.get_close_matches(plain, list(pool), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if not name.isascii():
            hint += " Names match exactly as written, and this one has non-ASCII characters."
        shown = name if len(name) <= 80 else name[:77] + "..."
        return ToolCallError(
            "unknown_tool",
            f"Unknown tool {shown!r}.{hint} Available tools: {', '.join(sorted(pool))}.",
        )

    def bind(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Map positional arguments onto the tool's parameter order and merge them with the keywords."""
        return bind_arguments(self.check_known(name), args, kwargs)

    def validate(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``arguments`` against the tool's JSON schema; raise ``invalid_arguments`` with what to fix.

        Returns the arguments to call with, sharing no mutable value with ``arguments`` (see :func:`isolated`).
        Values are passed as given, as BFCL passes them. An ``integer`` parameter takes an ``int`` only: ``2.0``
        is refused here (see :mod:`envtune_gym.validation`), so the tool never receives a float it would index
        with.
        """
        spec = self.check_known(name)
        return _validate(spec, self._layout.validators(name), arguments)

    def execute(self, name: str, arguments: Mapping[str, Any]) -> CallOutcome:
        """Validate and run one call; every failure becomes an error outcome, never an exception."""
        try:
            spec = self.check_known(name)
        except ToolCallError as exc:
            return exc.outcome()
        return self._execute_known(spec, arguments)

    def _execute_known(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> CallOutcome:
        """:meth:`execute` for a tool already looked up (the env's hot path looks it up once per call)."""
        try:
            checked = _validate(spec, self._layout.validators(spec.name), arguments)
        except ToolCallError as exc:
            return exc.outcome()
        return self.run(spec.name, checked)

    def call(
        self,
        name: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        available: Iterable[str] | None = None,
    ) -> tuple[dict[str, Any], CallOutcome]:
        """Look up, bind, validate and run a parsed call (:meth:`check_known`, :meth:`bind`, :meth:`execute`).

        Returns the bound arguments (the keywords as given when binding failed) and the outcome; every failure
        is an error outcome, never an exception.
        """
        try:
            spec = self.check_known(name, available)
            arguments = bind_arguments(spec, args, kwargs)
        except ToolCallError as exc:
            return dict(kwargs), exc.outcome()
        return arguments, self._execute_known(spec, arguments)

    def run(self, name: str, arguments: Mapping[str, Any]) -> CallOutcome:
        """Run a call whose arguments :meth:`validate` already accepted (e.g. pre-validated ground truth)."""
        method = getattr(self._domains[self._owner_index[name]], name)
        try:
            value = method(**arguments)
        except ToolError as exc:
            return CallOutcome(_error_result(str(exc)), "tool_error")
        except (RecursionError, MemoryError):
            return CallOutcome(
                _error_result(f"{name}: the arguments are too large to process."), "execution_error"
            )
        except Exception as exc:  # a simulator bug must not crash the episode; report it, typed
            return CallOutcome(f"Error during execution: {type(exc).__name__}: {exc}", "execution_error")
        return CallOutcome(serialize_result(value), None)


def bind_arguments(spec: ToolSpec, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Map positional arguments onto ``spec``'s parameter order and merge the keywords: the one binder.

    Raises:
        ToolCallError: ``invalid_arguments`` for too many positional arguments or one given twice.

    Example:
        >>> from envtune_gym.domains.filesystem import FileSystem
        >>> tail = next(spec for spec in tool_specs(FileSystem) if spec.name == "tail")
        >>> bind_arguments(tail, ("log.txt",), {"lines": 5})
        {'file_name': 'log.txt', 'lines': 5}
    """
    if not args:
        return dict(kwargs)
    if len(args) > len(spec.param_order):
        raise ToolCallError(
            "invalid_arguments",
            f"{spec.name} takes at most {len(spec.param_order)} positional argument(s) but got {len(args)}. "
            f"Signature: {spec.signature()}.",
        )
    arguments = dict(zip(spec.param_order, args, strict=False))
    for key, value in kwargs.items():
        if key in arguments:
            raise ToolCallError(
                "invalid_arguments",
                f"{spec.name} got {key!r} both by position and by keyword. Signature: {spec.signature()}.",
            )
        arguments[key] = value
    return arguments


def _validate(spec: ToolSpec, validators: _Validators, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    if not validators.fast(arguments) and not validators.schema.is_valid(arguments):
        error = jsonschema.exceptions.best_match(validators.schema.iter_errors(arguments))
        raise ToolCallError("invalid_arguments", _describe_schema_error(spec, error))
    return isolated(arguments)


def isolated(arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """Arguments that share no mutable value with ``arguments``: a tool may keep what it is given.

    Scalars need no copy (and ``**arguments`` builds a new dict at the call anyway); containers are deep-copied.
    """
    copied: dict[str, Any] | None = None
    for key, value in arguments.items():
        if type(value) in _IMMUTABLE_TYPES:
            continue
        if type(value) is list and all(type(item) in _IMMUTABLE_TYPES for item in value):
            copied = dict(arguments) if copied is None else copied
            copied[key] = value[:]  # a flat list of scalars (numbers=[3, 16]): a slice is a deep copy
            continue
        return fresh(dict(arguments))  # anything nested: the domains' fast deep copy of plain data
    return arguments if copied is None else copied


_IMMUTABLE_TYPES = frozenset(IMMUTABLE_SCALARS)  # exact types: a subclass of str may hold mutable state


def _describe_schema_error(spec: ToolSpec, error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    props = spec.parameters["properties"]
    if error.validator == "required":
        missing = [p for p in spec.parameters["required"] if p not in error.instance]
        detail = f"missing required argument(s) {', '.join(repr(m) for m in missing)}"
    elif error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(props))
        detail = (
            f"unexpected argument(s) {', '.join(repr(e) for e in extra)}; "
            f"known parameters: {', '.join(spec.param_order) or 'none'}"
        )
    elif error.validator == "enum":
        detail = f"argument {where!r} must be one of {error.validator_value}, got {_short(error.instance)}"
    elif error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        detail = f"argument {where!r} must be of type {expected}, got {_short(error.instance)}"
        value = error.instance
        if "integer" in expected and isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            detail += f" (write the integer {int(value)}, without a decimal point)"
    else:
        detail = f"argument {where!r}: {error.message}"
    return f"{spec.name}: {detail}. Signature: {spec.signature()}."


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    kind = type(value).__name__
    return f"{kind} {text if len(text) <= limit else text[: limit - 3] + '...'}"
