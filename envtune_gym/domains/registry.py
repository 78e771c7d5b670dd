"""The domain registry: each domain registers itself at the bottom of its own module.

A registration names the domain class (its BFCL class name is ``cls.name``) and, if the domain has an env of its
own, that env's id and task set. Everything that lists domains or envs reads this registry: ``DOMAINS`` and
``domain_class``, the ``EnvTune/*`` ids, ``envtune list``, the docs tables and the tests.

The package's own domains are imported on first use (:data:`BUILTIN_DOMAIN_MODULES`). A domain defined
elsewhere is its module and its task file, nothing else: it registers when its module is imported, and
``envtune_gym.register_envs()`` then gives its env an id (docs/domains.md, "Adding a domain").

Example:
    >>> [spec.name for spec in registered_domains()][:3]
    ['GorillaFileSystem', 'MessageAPI', 'TwitterAPI']
    >>> spec = domain_spec("GorillaFileSystem")
    >>> spec.env_id, spec.task_set, spec.target
    ('EnvTune/FileSystem-v0', 'filesystem', 'envtune_gym.domains.filesystem:FileSystem')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from envtune_gym.domains.base import Domain

#: Where a domain that does not say sits in listings: after the package's own (which use 10 to 80).
DEFAULT_ORDER = 1000

_REGISTRY: dict[str, DomainSpec] = {}
#: The package's own domain modules; a domain of yours registers itself when you import its module.
BUILTIN_DOMAIN_MODULES: tuple[str, ...] = tuple(
    f"envtune_gym.domains.{module}"
    for module in ("filesystem", "messaging", "posting", "trading", "travel", "vehicle", "ticket", "math_api")
)
_discovered = False


@dataclass(frozen=True)
class DomainSpec:
    """One registered domain.

    Attributes:
        cls: the domain class; its ``name`` is BFCL's class name, the key of a task's ``initial_config``.
        env_id: the Gymnasium id of the domain's own env (e.g. ``"EnvTune/FileSystem-v0"``), or ``None`` for a
            domain that only runs inside ``EnvTune/BFCL-v0``.
        task_set: the task-set name that env runs (``tasks=`` of ``gym.make``), with ``env_id``.
        task_file: the JSON task file of ``task_set``; ``None`` means the package's own,
            ``envtune_gym/tasks/data/<task_set>.json``.
        order: where the domain sits in listings (lower first; ties keep registration order).
    """

    cls: type[Domain]
    env_id: str | None = None
    task_set: str | None = None
    task_file: Path | None = None
    order: int = DEFAULT_ORDER

    @property
    def name(self) -> str:
        """BFCL's class name of the domain."""
        return self.cls.name

    @property
    def target(self) -> str:
        """``"module:Class"`` of the implementation."""
        return f"{self.cls.__module__}:{self.cls.__qualname__}"


def register_domain(
    cls: type[Domain],
    *,
    env_id: str | None = None,
    task_set: str | None = None,
    task_file: str | Path | None = None,
    order: int = DEFAULT_ORDER,
) -> type[Domain]:
    """Register a domain; call it at the bottom of the domain's module. Returns ``cls``.

    Registering the same class again (a reloaded module) replaces the entry; another class under a taken BFCL
    name, or a taken env id or task set, is a ``ValueError``.

    Args:
        cls: the :class:`Domain` subclass, with ``name`` set.
        env_id: the id of the domain's own env, e.g. ``"EnvTune/Counter-v0"``; needs ``task_set``.
        task_set: the name of the task set that env runs by default.
        task_file: the task set's JSON file, for a domain outside this package (the package's own live in
            ``envtune_gym/tasks/data/<task_set>.json``).
        order: where it sits in listings.

    Example:
        >>> class Counter(Domain):
        ...     name = "Counter"
        ...     def load_scenario(self, config, long_context=False):
        ...         self.value = config.get("value", 0)
        >>> register_domain(Counter, env_id="EnvTune/Counter-v0", task_set="counter", task_file="counter.json")
        <class 'envtune_gym.domains.registry.Counter'>
        >>> domain_spec("Counter").task_file, unregister_domain("Counter").name
        (PosixPath('counter.json'), 'Counter')
    """
    if not (isinstance(cls, type) and issubclass(cls, Domain) and cls.name):
        raise ValueError(f"register_domain: {cls!r} is not a Domain subclass with a name")
    if (env_id is None) != (task_set is None):
        raise ValueError(f"register_domain({cls.name}): give env_id and task_set together, or neither")
    if task_file is not None and task_set is None:
        raise ValueError(f"register_domain({cls.name}): a task_file needs an env_id and a task_set")
    spec = DomainSpec(cls, env_id, task_set, None if task_file is None else Path(task_file), order)
    _check_free(spec)
    _REGISTRY[spec.name] = spec
    return cls


def _check_free(spec: DomainSpec) -> None:
    """Refuse a registration that would shadow another domain's name, env id or task set."""
    for other in _REGISTRY.values():
        if other.target == spec.target:
            continue
        if other.name == spec.name:
            raise ValueError(f"domain {spec.name!r} is already registered by {other.target}")
        for field in ("env_id", "task_set"):
            value = getattr(spec, field)
            if value is not None and value == getattr(other, field):
                raise ValueError(f"{field} {value!r} of {spec.name} is already taken by {other.name}")


def unregister_domain(name: str) -> DomainSpec:
    """Remove a registered domain and return its entry (for plugins and tests that register temporary ones)."""
    _discover()
    if name not in _REGISTRY:
        raise ValueError(f"unknown domain {name!r}; known domains: {', '.join(_REGISTRY)}")
    return _REGISTRY.pop(name)


def registered_domains() -> tuple[DomainSpec, ...]:
    """Every registered domain, in listing order (the package's own first, in BFCL's usual order)."""
    _discover()
    return tuple(sorted(_REGISTRY.values(), key=lambda spec: spec.order))  # stable: ties keep insertion order


def domain_spec(name: str) -> DomainSpec:
    """The registration of a BFCL class name; ``ValueError`` naming the known ones if there is none."""
    _discover()
    spec = _REGISTRY.get(name)
    if spec is None:
        known = ", ".join(spec.name for spec in registered_domains())
        raise ValueError(f"unknown domain {name!r}; known domains: {known}")
    return spec


def _discover() -> None:
    """Import, once, the package's own domain modules (each registers its domain at its bottom)."""
    global _discovered
    if _discovered:
        return
    _discovered = True  # first: a module that reads the registry while it is imported must not recurse
    for module in BUILTIN_DOMAIN_MODULES:
        importlib.import_module(module)
