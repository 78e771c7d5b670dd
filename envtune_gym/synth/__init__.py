"""Procedural task synthesis: verified, multi-turn tasks for BFCL's domains, unlimited and reproducible.

A generator per domain (next to its domain: ``envtune_gym/domains/<domain>_synth.py``) draws a task's initial
state and turns from a seeded ``random.Random``; :mod:`~envtune_gym.synth.categories` shapes it into one of
BFCL's four categories; :mod:`~envtune_gym.synth.gates` replays its ground truth and redraws it unless it is
executable, necessary, grounded and unambiguous. ``envtune synth`` writes sets as JSON lines; the env ids take
``task_source="synth"``. See docs/synth.md.

Example:
    >>> from envtune_gym.synth import synthesize
    >>> task = synthesize("filesystem", 1, seed=0)[0]
    >>> task.id, task.category
    ('synth_filesystem_base_0_0', 'base')
"""

from envtune_gym.synth import sets as _sets  # noqa: F401  (registers task_source='synth')
from envtune_gym.synth.generate import MAX_ATTEMPTS, Synthesizer, SynthStats, synthesize
from envtune_gym.synth.generator import Generator, Knobs, generator_names, get_generator, register_generator

__all__ = [
    "MAX_ATTEMPTS",
    "Generator",
    "Knobs",
    "SynthStats",
    "Synthesizer",
    "generator_names",
    "get_generator",
    "register_generator",
    "synthesize",
]
