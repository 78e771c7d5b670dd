"""Checks the ``envtune`` commands share, so that bad input is a one-line error before any work starts.

:func:`check_env` is :mod:`envtune_gym.envs.factory`'s (the one place envs are made), named here with the
argument types for the commands.

Example:
    >>> check_env("EnvTune/FileSystem-v0", {"split": "train"})
    >>> check_env("EnvTune/NoSuch-v0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown env id 'EnvTune/NoSuch-v0' (...); EnvTune ids: EnvTune/FileSystem-v0, ...
"""

from __future__ import annotations

import argparse

from envtune_gym.envs.factory import check_env

__all__ = ["check_env", "seed_type"]


def seed_type(text: str) -> int:
    """An ``argparse`` type: a seed is an integer >= 0 (Gymnasium rejects negative seeds).

    Example:
        >>> seed_type("7")
        7
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value
