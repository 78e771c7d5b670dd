"""UnicodeText holds any text a model emits, including through vector-env shared memory."""

from __future__ import annotations

import copy
import multiprocessing as mp

from gymnasium.spaces.utils import flatdim, flatten, unflatten
from gymnasium.vector.utils.shared_memory import (
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)

from envtune_gym.spaces import UnicodeText

SAMPLES = ["", "ls(a=True)", "café 🙂 \u0000 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "中文\n\ttabs"]


def test_contains_any_string_within_bounds_only():
    space = UnicodeText(16)
    assert all(space.contains(text) for text in SAMPLES)
    assert not space.contains("x" * 17)
    assert not space.contains(b"bytes")
    assert not UnicodeText(16, min_length=1).contains("")


def test_sample_is_contained_and_seeded():
    first, second = UnicodeText(50, seed=1), UnicodeText(50, seed=1)
    samples = [first.sample() for _ in range(5)]
    assert samples == [second.sample() for _ in range(5)]
    assert all(first.contains(text) for text in samples)


def test_flatten_round_trips_every_character():
    space = UnicodeText(32)
    assert flatdim(space) == 32
    for text in SAMPLES:
        assert unflatten(space, flatten(space, text)) == text


def test_shared_memory_round_trips_every_character():
    space = UnicodeText(32)
    memory = create_shared_memory(space, n=len(SAMPLES), ctx=mp.get_context("spawn"))
    for index, text in enumerate(SAMPLES):
        write_to_shared_memory(space, index, text, memory)
    view = read_from_shared_memory(space, memory, n=len(SAMPLES))
    assert view == tuple(SAMPLES)
    write_to_shared_memory(space, 1, "updated ✓", memory)
    assert view[1] == "updated ✓"  # a live view, as AsyncVectorEnv needs
    assert copy.deepcopy(view) == (SAMPLES[0], "updated ✓", *SAMPLES[2:])
    assert type(copy.deepcopy(view)) is tuple


def test_equality_and_repr():
    assert UnicodeText(8) == UnicodeText(8) and UnicodeText(8) != UnicodeText(9)
    assert repr(UnicodeText(8)) == "UnicodeText(0, 8)"
