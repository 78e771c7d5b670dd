"""Stable-Baselines3 integration: discrete actions over a catalogue of candidate calls, hashed text observations.

SB3 cannot act in text spaces. :class:`CatalogueActions` turns an EnvTune env's text actions into ``Discrete(n)``
and :class:`HashedObservations` its text observations into a float32 ``Box``; :func:`make_sb3_env` composes
them (with :class:`~envtune_gym.wrappers.ProgressReward` for a dense reward), so PPO, A2C or DQN run unchanged.
This package imports neither torch nor stable-baselines3: the wrappers need only gymnasium and numpy.

**The catalogue.** Index 0 is always *end turn* (the reply ``"Done."``, which ends the user turn). The other
entries are single tool calls, built generically from the tool schemas (``info["tools"]``) and the values
visible so far in the episode, never from the ground truth:

- *values*: from user messages, quoted spans (``'figures'``), name-like tokens (``notes.txt``, ``project_x``,
  ``IMG_001.raw``: a letter plus ``.``, ``_`` or a digit; dates), names of two or more capitalised words
  (``Mei Lin``), integers and decimals, and plain words that name something in the agent-side domain state (``logs`` when a ``logs`` directory exists; the state only confirms
  words the user wrote, it adds none); from call results (``info["calls"]``, parsed as JSON), every short
  whitespace-free string leaf (names in ``ls`` output, ids, symbols, paths and their components), quoted
  whitespace-free spans inside result strings, and numbers. The text observed most recently ranks first; within
  one text, order of appearance.
- *arguments*: per parameter, candidates of its JSON type: strings (interleaved with the quoted examples of the
  parameter's description, e.g. ``'..'`` for ``cd``), integers, numbers (as floats, as the schemas expect),
  ``True``/``False``, the schema's ``enum``, one-element arrays of item candidates. A value equal to the
  parameter's default is dropped; an optional parameter may also be omitted (ranked first). The string values of
  one call are distinct (``mv(a, a)`` is never useful).
- *combinations*: per tool, the ``per_tool_cap`` best combinations (best-first over the product of the
  per-parameter candidate lists, ranked by the worst then the summed rank of their values), then all tools
  merged by that rank. A tool with a required parameter that has no candidate (an ``object`` argument, say) is
  left out.
- *lifetime*: rebuilt at each reset and, with ``rebuild="turn"`` (default), at each new user turn, filling at
  most ``n - 1 - reserve`` entries; after each call step, combinations of newly seen values are appended (indices
  already given keep their call) until ``n`` entries. ``rebuild="episode"`` builds at reset only and grows after.
- *padding*: indices past the catalogue's end are a **no-op**: the env gets an unparseable call
  (``[catalogue_padding(``), so the step costs one step of the turn's budget, observes a ``format`` error and
  makes no call (BFCL's "at least one call per turn" is unaffected). ``padding="end_turn"`` maps them to end turn.
  :meth:`CatalogueActions.action_masks` marks the real entries (sb3-contrib's ``MaskablePPO`` reads it).

``oracle_catalogue=True`` pins the task's ground-truth calls (every turn's, in order) at indices ``1..g``. It
**leaks the ground truth into the action set**: a diagnostic upper bound for the learning machinery, not a fair
agent; ``info["catalogue"]["oracle_catalogue"]`` says so on every step.

Limits: one call per action (a turn needing k calls takes k steps, fine for BFCL's checker); values the episode
never showed cannot be called (a file the user describes without naming it); plain words are candidates only if
the state names them; long free text (``echo`` content) must be quoted in a message; ``object`` arguments and
arrays of more than one element are never generated; the catalogue's ranking is a heuristic and its indices mean
different calls in different tasks, so a policy must read the task from the observation.

**The observation** (:class:`HashedObservations`), float32 of shape ``(2 * dim + 5,)``: ``log1p`` counts of the
lower-cased ``\\w+`` tokens of the current turn's user message hashed (CRC-32, stable across processes) into
``dim`` buckets; the same for the last step's tool results (zeros at a turn's start); then ``turn / num_turns``,
``min(step_in_turn / max_steps_per_turn, 1)``, a call or the action failed on the last step, the last step
started a new turn, a call was made in this turn. The hashed values are clipped at 8.

**The reward** is the wrapped env's (:func:`make_sb3_env` adds ``ProgressReward``), and
:class:`ForceQuitTerminates` reports BFCL's force-quit (the env's truncation) as termination, so that SB3 does
not bootstrap a value for an episode that is over.

Layout: :mod:`~envtune_gym.integrations.sb3.catalogue` (values seen in the episode, candidate calls built from
the tool schemas, the ground-truth entries), :mod:`~envtune_gym.integrations.sb3.wrappers` (the gymnasium
wrappers and :func:`make_sb3_env`), :mod:`~envtune_gym.integrations.sb3.evaluation` (success rate, the random
baseline, catalogue coverage).

Example:
    >>> env = make_sb3_env("EnvTune/FileSystem-v0", max_actions=64, dim=64, category="base")
    >>> obs, info = env.reset(seed=0, options={"task_id": "filesystem_base_0"})
    >>> obs.shape, obs.dtype, env.action_space
    ((133,), dtype('float32'), Discrete(64))
    >>> catalogue = env.get_wrapper_attr("catalogue")
    >>> [entry.text for entry in catalogue[:3]]
    ['Done.', '[pwd()]', '[ls()]']
"""

from envtune_gym.integrations.sb3.catalogue import (
    END_TURN,
    PADDING_ACTION,
    CatalogueEntry,
    Kind,
    ground_truth_entries,
    message_values,
    result_values,
    state_strings,
)
from envtune_gym.integrations.sb3.evaluation import (
    CoverageReport,
    EvalResult,
    Policy,
    catalogue_coverage,
    evaluate_success,
    random_policy,
)
from envtune_gym.integrations.sb3.wrappers import (
    NUM_SCALARS,
    CatalogueActions,
    ForceQuitTerminates,
    HashedObservations,
    hash_text,
    make_sb3_env,
)

__all__ = [
    "NUM_SCALARS",
    "PADDING_ACTION",
    "CatalogueActions",
    "CatalogueEntry",
    "CoverageReport",
    "END_TURN",
    "EvalResult",
    "ForceQuitTerminates",
    "HashedObservations",
    "Kind",
    "Policy",
    "catalogue_coverage",
    "evaluate_success",
    "ground_truth_entries",
    "hash_text",
    "make_sb3_env",
    "message_values",
    "random_policy",
    "result_values",
    "state_strings",
]
