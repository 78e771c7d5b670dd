"""The base class every simulated API (domain) derives from.

A domain is plain Python: its state lives in public attributes, its tools are public methods marked with
:func:`envtune_gym.tools.tool`, typed and documented, and expected failures raise :class:`ToolError` with a
message a model can act on. Nothing here imports gymnasium: a domain is usable and testable on its own.
"""

from __future__ import annotations

import copy
import functools
import json
import pickle
import random
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")
D = TypeVar("D", bound="Domain")

_CONSTANT_BLOBS: dict[int, tuple[Any, bytes]] = {}
#: Scalar types whose values are their own deep copy.
IMMUTABLE_SCALARS = (str, int, float, bool, type(None), bytes)


class ToolError(Exception):
    """An expected, user-facing failure of a tool call.

    The environment turns it into the result ``{"error": message}`` (the shape BFCL's simulators return), so the
    model sees it as the call's output and the episode goes on.

    Example:
        >>> raise ToolError("cat: 'notes.txt': No such file in 'docs'. Files here: report.md")
        Traceback (most recent call last):
        ...
        envtune_gym.domains.base.ToolError: cat: 'notes.txt': No such file in 'docs'. Files here: report.md
    """


class Domain:
    """A simulated API whose public methods marked ``@tool`` are the tools an agent can call.

    Subclasses set ``name`` (BFCL's class name, used as the key of a task's ``initial_config``) and
    ``description`` (the blurb BFCL puts in front of every tool description), and implement
    :meth:`load_scenario`.

    The compared state is every public instance attribute (BFCL's rule: names without a leading ``_``), so keep
    working values that BFCL does not compare (a current directory, an RNG) in ``_private`` attributes.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: A stateless domain (BFCL's MathAPI) has no scenario to load and no state to compare.
    stateless: ClassVar[bool] = False
    #: True when ``__init__`` does nothing but ``self.load_scenario({})``: :meth:`from_scenario` then skips it
    #: (every reset builds the task's domains; loading an empty scenario first would double the work).
    init_loads_empty_scenario: ClassVar[bool] = False
    #: BFCL's long-context padding for this domain: a JSON file in ``envtune_gym/domains/data/`` (or an absolute
    #: path, for a domain outside the package); "" when long context changes nothing. Read with
    #: :meth:`long_context_padding`.
    long_context_file: ClassVar[str] = ""

    @classmethod
    def long_context_padding(cls) -> Any:
        """The domain's long-context padding: :attr:`long_context_file`, read once per class and shaped by
        :meth:`shape_long_context`.

        Example:
            >>> from envtune_gym.domains.travel import TravelAPI
            >>> cards, bookings = TravelAPI.long_context_padding()
            >>> len(cards), TravelAPI.long_context_padding()[0] is cards
            (22, True)
        """
        return _long_context_padding(cls)

    @classmethod
    def shape_long_context(cls, data: dict[str, Any]) -> Any:
        """The padding in the form the domain uses, from the file's JSON (the JSON itself unless overridden)."""
        return data

    @classmethod
    def from_scenario(
        cls: type[D], config: Mapping[str, Any], long_context: bool = False, *, copy: bool = True
    ) -> D:
        """A new instance with a private copy of ``config`` loaded; ``copy=False`` when ``config`` already is one
        that nothing else holds (the env unpickles one per reset), so the domain keeps it as it is.

        Example:
            >>> from envtune_gym.domains.ticket import TicketAPI
            >>> config = {"ticket_queue": [{"id": 1, "status": "open"}]}
            >>> tickets = TicketAPI.from_scenario(config)
            >>> tickets.ticket_queue[0]["status"] = "closed"; config["ticket_queue"][0]["status"]
            'open'
        """
        domain = cls.__new__(cls) if cls.init_loads_empty_scenario else cls()
        if not domain.stateless:
            domain.load_scenario(fresh(dict(config)) if copy else config, long_context=long_context)
        return domain

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Set the initial state from a task's ``initial_config[self.name]``.

        The domain may keep any part of ``config`` as it is (BFCL's loaders do): pass a copy if you keep using
        yours, or use :meth:`from_scenario`, which makes one. Defaults for missing keys must be fresh copies.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement load_scenario")

    def _seed_random(self, seed: Any) -> None:
        """Seed ``self._random`` (BFCL's ``random.Random(seed)``). An int seed makes the generator on first use:
        most episodes draw nothing, and seeding costs as much as loading a small scenario."""
        self._random_seed = seed
        self._random_state = None if type(seed) is int else random.Random(seed)  # odd seeds fail at load

    @property
    def _random(self) -> random.Random:
        rng = self._random_state
        if rng is None:
            rng = self._random_state = random.Random(self._random_seed)
        return rng

    def state(self) -> dict[str, Any]:
        """The public attributes the turn checker compares, by name."""
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def clone(self) -> Domain:
        """An independent deep copy, RNG included: the same calls on both give the same results."""
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Domain:
        # A domain is plain data, so a pickle round trip copies it, several times faster than deepcopy's walk
        # (the seam is ``fresh``). Env snapshots copy every domain, and the synthesis gates snapshot every turn.
        return fresh(self)


@functools.cache
def _long_context_padding(cls: type[Domain]) -> Any:
    """Read and shape a domain's long-context file (cached per class: the files are large and never change)."""
    if not cls.long_context_file:
        raise ValueError(f"{cls.__name__} has no long-context padding (long_context_file is empty)")
    path = Path(cls.long_context_file)
    source = path if path.is_absolute() else resources.files(__package__) / "data" / cls.long_context_file
    return cls.shape_long_context(json.loads(source.read_text(encoding="utf-8")))


def fresh(value: T, *, constant: bool = False) -> T:
    """A deep copy of plain data (dicts, lists, sets, tuples, scalars), by pickling: several times faster than
    ``copy.deepcopy``, which matters when every ``reset`` loads two copies of a scenario.

    With ``constant=True`` the value is a module-level constant that is never mutated: its pickle is made once.

    Example:
        >>> DEFAULTS = {"watch_list": ["NVDA"]}
        >>> mine = fresh(DEFAULTS, constant=True)
        >>> mine["watch_list"].append("AAPL"); DEFAULTS
        {'watch_list': ['NVDA']}
    """
    if type(value) in IMMUTABLE_SCALARS:  # as copy.deepcopy does: an immutable scalar is its own copy
        return value
    if not constant:
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    cached = _CONSTANT_BLOBS.get(id(value))
    if cached is None or cached[0] is not value:
        cached = _CONSTANT_BLOBS[id(value)] = (value, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return pickle.loads(cached[1])
