"""``HintAugmentation``: actionable hints on failed steps, from the tool schemas and what the env reported.

The Environment Tuning method (arXiv 2510.10197, §3.3) found that turning vague failures into hints an agent can
act on is what makes exploration learnable with little data. The env's own error messages already say what went
wrong and what exists; this wrapper adds, for each failure, the piece of the tool documentation that fixes it:

- a malformed action: the accepted call formats, with an example built from an available tool;
- an unknown tool: the closest available tools, with their signatures (``full``: and descriptions);
- invalid arguments: the tool's signature (``full``: every parameter's type, default, allowed values, doc);
- a failed call whose message names other tools (log in first, list the ids, look up an airport code): their
  signatures, usually the precondition to satisfy first (``full``: with their descriptions); one that names no
  tool (a name or id not found): the domain's tools that list what exists;
- an unexpected tool crash: the tool's signature, to check the argument values against.

Hints come from ``info["tools"]`` (the schemas of the tools available now) and ``info["calls"]`` /
``info["action_error"]`` only, never from the ground truth. The opt-in ``ground_truth_aware`` mode adds the
paper's guard for turns that expect no call (a miss_param or miss_func request the agent should question rather
than act on); it reads the task's ground truth and is labelled as such in the hint.

The level can change per episode: ``reset(options={"hints": ...})`` sets it for that episode only (a level, or
``True`` / ``False`` for the wrapper's own level / ``"off"``). That is how a
:class:`~envtune_gym.wrappers.CurriculumGate` stacked over this wrapper turns hints on and off by stage.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, Literal, SupportsFloat

import gymnasium as gym

from envtune_gym.tools import signature_of, spec_of_schema

HintLevel = Literal["off", "brief", "full"]
LEVELS: tuple[HintLevel, ...] = ("off", "brief", "full")

#: The hint's prefix in the observation.
HINT_PREFIX = "Hint: "
#: The guard of ``ground_truth_aware`` mode (labelled: it is derived from the ground truth).
NO_CALL_GUARD = (
    "[ground-truth-aware] This request cannot be completed with the information or tools you have yet: ask the "
    "user for what is missing instead of calling tools."
)
_MAX_HINT_CHARS = 2_000


class HintAugmentation(gym.Wrapper[str, str, str, str], gym.utils.RecordConstructorArgs):
    """Append an actionable hint to the observation of every failed step; ``info["hint"]`` holds it ("" if none).

    Args:
        env: an EnvTune env (or a wrapper of one).
        level: ``"off"`` (no hints: the env's own messages only), ``"brief"`` (one line per failure: names and
            signatures) or ``"full"`` (with descriptions and every parameter's documentation).
        ground_truth_aware: also warn when the agent calls tools in a turn whose ground truth is empty (the
            paper's guard); off by default because it uses the ground truth.

    ``reset(options={"hints": value})`` overrides ``level`` for that episode: a level, ``True`` (``level``) or
    ``False`` (``"off"``); the next reset without the option goes back to ``level``. :attr:`episode_level` is
    the level in force.

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = HintAugmentation(gym.make("EnvTune/FileSystem-v0"), level="brief")
        >>> _ = env.reset(seed=0)
        >>> observation, *_, info = env.step("[lss()]")
        >>> print(info["hint"])
        Did you mean ls(a: boolean = False)?
        >>> _ = env.reset(seed=0, options={"hints": False})  # this episode only, as a CurriculumGate asks
        >>> env.episode_level, env.step("[lss()]")[4]["hint"]
        ('off', '')
    """

    def __init__(
        self, env: gym.Env[str, str], *, level: HintLevel = "full", ground_truth_aware: bool = False
    ):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        gym.utils.RecordConstructorArgs.__init__(self, level=level, ground_truth_aware=ground_truth_aware)
        gym.Wrapper.__init__(self, env)
        self.level: HintLevel = level
        #: The level of the current episode: ``level`` unless ``reset(options={"hints": ...})`` said otherwise.
        self.episode_level: HintLevel = level
        self.ground_truth_aware = ground_truth_aware
        self._tools: dict[str, dict[str, Any]] = {}
        self._turn = 0  # the turn the next action belongs to (from the last info)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        # Checked before the env resets, so a bad value leaves the running episode as it was.
        episode_level = self._episode_level((options or {}).get("hints"))
        observation, info = self.env.reset(seed=seed, options=options)
        self.episode_level = episode_level
        self._tools, self._turn = _by_name(info["tools"]), info["turn"]
        info["hint"] = ""
        return observation, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        acting_turn = self._turn
        observation, reward, terminated, truncated, info = self.env.step(action)
        hints = [] if self.episode_level == "off" else self._hints(info)
        if (
            self.ground_truth_aware
            and info["calls"]
            and not self.env.unwrapped.task.ground_truth[acting_turn]
        ):
            hints.append(NO_CALL_GUARD)
        self._tools, self._turn = _by_name(info["tools"]), info["turn"]
        hint = "\n".join(dict.fromkeys(hint for hint in hints if hint))[:_MAX_HINT_CHARS]
        info["hint"] = hint
        if hint:
            observation = self._append(observation, hint)
        return observation, reward, terminated, truncated, info

    def _episode_level(self, requested: Any) -> HintLevel:
        """The level an episode runs at, from ``options["hints"]`` (``None``: not given)."""
        if requested is None or requested is True:
            return self.level
        if requested is False:
            return "off"
        if requested in LEVELS:
            return requested
        raise ValueError(f'options["hints"] must be one of {LEVELS}, True or False, got {requested!r}')

    # ------------------------------------------------------------------------------------------------------------

    def _hints(self, info: dict[str, Any]) -> list[str]:
        hints = []
        if "action_error" in info:
            hints.append(self._action_hint(info["action_error"]["category"]))
        for call in info["calls"]:
            if call["error"] == "unknown_tool":
                hints.append(self._unknown_tool_hint(call["name"]))
            elif call["error"] in ("invalid_arguments", "execution_error"):
                hints.append(self._documentation(call["name"]))
            elif call["error"] == "tool_error":
                hints.append(self._precondition_hint(call["name"], _message(call["result"])))
        return hints

    def _action_hint(self, category: str) -> str:
        if category in ("too_long", "too_many_calls"):
            return "Split the work over several steps, each with fewer, shorter calls."
        example = next(iter(self._tools), None)
        hint = 'Write calls as [tool(arg=\'value\')] or <tool_call>{"name": ..., "arguments": {...}}</tool_call>.'
        if self.episode_level == "full" and example:
            hint += f" Use literal values only. Available now, e.g.: {self._signature(example)}."
        return hint

    def _unknown_tool_hint(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._tools), n=3, cutoff=0.5)
        if not close:
            return f"Only these tools exist now: {', '.join(self._tools)}."
        if self.episode_level == "brief":
            return f"Did you mean {' or '.join(self._signature(tool) for tool in close)}?"
        return "Did you mean:\n" + "\n".join(f"- {self._signature(t)}: {self._summary(t)}" for t in close)

    def _documentation(self, name: str) -> str:
        if name not in self._tools:
            return ""
        if self.episode_level == "brief":
            return f"Call it as {self._signature(name)}."
        parameters = self._tools[name].get("parameters", {})
        required = set(parameters.get("required", ()))
        lines = [f"{self._signature(name)}: {self._summary(name)}"]
        for param, schema in parameters.get("properties", {}).items():
            kind = schema.get("type", "any")
            facts = ["|".join(kind) if isinstance(kind, list) else kind]
            facts.append("required" if param in required else f"default {schema.get('default')!r}")
            if "enum" in schema:
                facts.append(f"one of {schema['enum']}")
            lines.append(f"- {param} ({', '.join(facts)}): {schema.get('description', '')}")
        return "\n".join(lines)

    def _precondition_hint(self, name: str, message: str) -> str:
        named = [
            tool for tool in self._tools if tool != name and re.search(rf"\b{re.escape(tool)}\b", message)
        ]
        if not named:
            return self._listing_hint(name)
        if self.episode_level == "brief":
            return f"The error points to {' and '.join(self._signature(tool) for tool in named)}."
        return "The error points to these tools:\n" + "\n".join(
            f"- {self._signature(tool)}: {self._summary(tool)}" for tool in named
        )

    def _listing_hint(self, name: str) -> str:
        """For a failure that names no other tool (a name or id not found): the domain's tools that list things."""
        domain = self._domain_of(name)
        # A listing tool with no required argument can always be called (declared with ``@tool(lists=True)``).
        listing = [
            tool for tool, function in self._tools.items()
            if tool != name and self._domain_of(tool) == domain and _lists(function)
            and not function.get("parameters", {}).get("required")
        ]  # fmt: skip
        if not listing:
            return ""
        return f"To see what exists, call {' or '.join(self._signature(tool) for tool in listing)}."

    def _domain_of(self, name: str) -> str:
        spec = spec_of_schema(self._tools.get(name, {}))
        return spec.domain if spec is not None else ""

    def _signature(self, name: str) -> str:
        return signature_of(name, self._tools[name].get("parameters", {}))

    def _summary(self, name: str) -> str:
        spec = spec_of_schema(self._tools[name])
        return spec.summary if spec is not None else self._tools[name].get("description", "")

    def _append(self, observation: str, hint: str) -> str:
        limit = getattr(self.observation_space, "max_length", None)
        text = f"{observation}\n{HINT_PREFIX}{hint}" if observation else f"{HINT_PREFIX}{hint}"
        return text if limit is None or len(text) <= limit else observation


def _by_name(tools: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {tool["function"]["name"]: tool["function"] for tool in tools}


def _lists(function: dict[str, Any]) -> bool:
    spec = spec_of_schema(function)
    return spec is not None and spec.lists


def _message(result: str) -> str:
    try:
        value = json.loads(result)
    except ValueError:
        return result
    return value.get("error", result) if isinstance(value, dict) else result
