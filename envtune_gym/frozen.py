"""Read-only dicts and lists for tool schemas that validators and every env share.

``info["tools"]`` hands out the registry's schemas without a per-step copy; freezing them means nothing a caller
does to ``info`` can change what validation accepts or what another env reports. :func:`thaw` gives an editable
copy.
"""

from __future__ import annotations

from typing import Any

_READ_ONLY = (
    "tool schemas are read-only: the env and its validators share them with every episode; "
    "edit a copy made with envtune_gym.tools.thaw()"
)


def _refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(_READ_ONLY)


class FrozenDict(dict):  # type: ignore[type-arg]
    """A ``dict`` that refuses changes: a schema that validators and every env share.

    Still a ``dict`` for everything that reads (``json.dumps``, chat templates, ``isinstance``, ``==``);
    ``copy``/``deepcopy`` return it as is, as for any immutable value, and pickling keeps it frozen.
    """

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenDict, (dict(self),)  # dict's default pickling would rebuild it with __setitem__


class FrozenList(list):  # type: ignore[type-arg]
    """A ``list`` that refuses changes (see :class:`FrozenDict`)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenList, (list(self),)


def freeze(value: Any) -> Any:
    """``value`` with every dict and list in it read-only (already frozen parts are kept, not copied).

    Example:
        >>> schema = freeze({"type": "object", "required": ["a"]})
        >>> schema == {"type": "object", "required": ["a"]}, isinstance(schema["required"], list)
        (True, True)
        >>> schema["required"].append("b")
        Traceback (most recent call last):
        ...
        TypeError: tool schemas are read-only: the env and its validators share them with every episode; edit a copy made with envtune_gym.tools.thaw()
    """
    if type(value) in (FrozenDict, FrozenList):
        return value
    if isinstance(value, dict):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return FrozenList([freeze(item) for item in value])
    return value


def thaw(value: Any) -> Any:
    """A plain, editable deep copy of (frozen) schemas, e.g. of ``info["tools"]``.

    Example:
        >>> tools = thaw(freeze([{"name": "ls"}]))
        >>> tools[0]["name"] = "pwd"
        >>> tools, type(tools[0])
        ([{'name': 'pwd'}], <class 'dict'>)
    """
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    return value
