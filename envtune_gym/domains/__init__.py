"""The simulated APIs (domains). Each module is plain Python with no gymnasium import.

A domain is one module, which registers itself at its bottom (:func:`register_domain`), and, if it has an env of
its own, one task file. :data:`DOMAINS` and :func:`domain_class` read the registry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.domains.registry import (
    DomainSpec,
    domain_spec,
    register_domain,
    registered_domains,
    unregister_domain,
)


class _DomainTargets(Mapping[str, str]):
    """BFCL class name -> ``"module:Class"`` of every registered domain, in listing order (a live view)."""

    def __getitem__(self, name: str) -> str:
        for spec in registered_domains():
            if spec.name == name:
                return spec.target
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter([spec.name for spec in registered_domains()])

    def __len__(self) -> int:
        return len(registered_domains())

    def __repr__(self) -> str:
        return repr(dict(self))


#: BFCL class name -> "module:Class" of our implementation, read from the registry (domains registered later
#: appear too).
DOMAINS: Mapping[str, str] = _DomainTargets()


def domain_class(name: str) -> type[Domain]:
    """The implementation of a BFCL class name.

    Example:
        >>> domain_class("GorillaFileSystem").__name__
        'FileSystem'
    """
    return domain_spec(name).cls


__all__ = [
    "DOMAINS",
    "Domain",
    "DomainSpec",
    "ToolError",
    "domain_class",
    "domain_spec",
    "register_domain",
    "registered_domains",
    "unregister_domain",
]
