"""The ``environment_factory`` path: one method per tool, for TRL's own tool loop (single-user-turn tasks).

Also the tool methods' synthesised signatures (what ``transformers.utils.get_json_schema`` reads back), the
oracle's episodes in TRL's message format, and the Hermes response parser for TRL's tool-call parsing.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from envtune_gym.actions import parse_action
from envtune_gym.envs.factory import WrapperFactory, make_env
from envtune_gym.tasks import Task
from envtune_gym.tasks.oracle import oracle_actions
from envtune_gym.wrappers import ProgressReward

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class EnvTuneEnvironment:
    """Base of the classes :func:`make_environment_class` builds; TRL's ``environment_factory`` contract.

    TRL makes instances with no arguments and reuses them: ``reset(**row)`` starts an episode on the row's task,
    each public method is a tool that runs one call as one env step (returning the call's result string, as
    BFCL's executor gives it), and ``get_reward()`` ends the user turn (the env checks it) and returns the sum of
    the wrapped env's rewards. Only ``reset`` and ``get_reward`` are public here: TRL exposes every other public
    function of the class as a tool.
    """

    _env_id: str = ""
    _env_kwargs: dict[str, Any] = {}  # replaced per subclass, never mutated
    _wrappers: tuple[WrapperFactory, ...] = ()
    _first_turn_only: bool = False

    def __init__(self) -> None:
        self.env = make_env(self._env_id, self._env_kwargs, self._wrappers)
        self._tasks = {task.id: task for task in self.env.unwrapped.tasks}
        #: The episode's task (cut to its first turn with ``first_turn_only``).
        self.task: Task | None = None
        self.reward = 0.0
        self.done = True

    def reset(self, **row: Any) -> str | None:
        """Start an episode on ``row["task_id"]``; return the first user message unless the prompt holds it."""
        task = self._episode_task(row.get("task_id"))
        observation, _ = self.env.reset(options={"task": task})
        self.task, self.reward, self.done = task, 0.0, False
        return None if _mentions(row.get("prompt"), observation) else observation

    def get_reward(self) -> float:
        """End the user turn (if the episode is still open) and return the episode's reward."""
        if not self.done:
            self._step("")  # a reply without a call ends the turn; the env checks it
        return self.reward

    def _episode_task(self, task_id: Any) -> Task:
        if task_id is None:
            raise ValueError(
                "reset() needs the row's 'task_id' (build the dataset with task_dataset()): without it the "
                "num_generations rollouts of a GRPO group could play different tasks"
            )
        if task_id not in self._tasks:
            raise ValueError(f"unknown task_id {task_id!r} for {self._env_id}")
        task = self._tasks[task_id]
        if self._first_turn_only:
            if not task.ground_truth[0]:
                raise ValueError(
                    f"task {task_id}: its first turn is not checked, so it has no reward to learn"
                )
            return first_turn(task)
        if task.num_turns > 1:
            raise ValueError(
                f"task {task_id} has {task.num_turns} user turns, but TRL's environment_factory cannot inject "
                "the next user message: pass first_turn_only=True to train on first turns, filter the dataset "
                "with task_dataset(max_turns=1), or use make_rollout_func for whole episodes"
            )
        return task

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        if self.done:
            return "Error: the episode is over; no more calls run."
        action = "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"
        observation, info = self._step(action)
        calls = info.get("calls") or []
        # The call's own result string; a rejected action (e.g. a bad argument type) reports in the observation.
        return calls[0]["result"] if calls else observation

    def _step(self, action: str) -> tuple[str, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.reward += float(reward)
        self.done = bool(terminated or truncated)
        return observation, info


def make_environment_class(
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    wrappers: Sequence[WrapperFactory] = (ProgressReward,),
    first_turn_only: bool = False,
    class_name: str | None = None,
) -> type[EnvTuneEnvironment]:
    """A class for TRL's ``environment_factory``: one method per tool of ``env_id``, with its schema.

    Each tool method has a synthesised ``__signature__`` (keyword-only parameters; optional ones default to the
    schema's default, else ``None``), ``__annotations__`` (``str``, ``int``, ``float``, ``bool``, ``list[...]``,
    ``dict``, ``Literal`` for enums, ``| None`` for nullable types) and a Google docstring with the tool's and
    each parameter's description, so ``transformers.utils.get_json_schema`` (what TRL renders into the prompt)
    gives back the schema's names, types, enums, required list and descriptions. The tools are the union of those
    the env's tasks offer at reset.

    **Single user turn only.** TRL's tool loop ends when the model answers without a call and cannot add the next
    user message, so ``reset`` refuses a task with several user turns. ``first_turn_only=True`` instead plays
    each task cut to its first turn (its first turn must be checked); the reward is then that turn's. Of the
    bundled tasks none has a single turn and 165 of 211 have a checked first turn; of BFCL's 800, 6 and 625.

    Args:
        env_id: an ``EnvTune/*`` id.
        env_kwargs: passed to ``gym.make``.
        wrappers: applied in order around each env; they decide the reward (default: the progress reward).
        first_turn_only: play every task's first user turn only.
        class_name: the class's name (TRL logs the reward under it); defaults to ``<Domain>Environment``.

    Returns:
        A subclass of :class:`EnvTuneEnvironment`.

    Raises:
        ValueError: when a tool's name or parameter cannot be a Python method or parameter name.

    Example:
        >>> FileSystem = make_environment_class("EnvTune/FileSystem-v0", first_turn_only=True)
        >>> env = FileSystem()
        >>> env.reset(task_id="filesystem_base_0")[:40]
        'Hi! Before I start working, can you tell'
        >>> env.pwd(), env.get_reward()
        ('{"current_working_directory": "/priya"}', 1.0)
    """
    env_kwargs = dict(env_kwargs or {})
    schemas = _tool_schemas(env_id, env_kwargs)
    namespace: dict[str, Any] = {
        "_env_id": env_id,
        "_env_kwargs": env_kwargs,
        "_wrappers": tuple(wrappers),
        "_first_turn_only": first_turn_only,
        "__doc__": f"TRL environment over {env_id}: {len(schemas)} tools (see EnvTuneEnvironment).",
        "__module__": __name__,
    }
    for schema in schemas:
        name = schema["function"]["name"]
        if not name.isidentifier() or name.startswith("_") or name in ("reset", "get_reward"):
            raise ValueError(f"tool {name!r} cannot be a public method of the environment class")
        namespace[name] = tool_method(schema)
    default_name = re.sub(r"\W", "", env_id.split("/")[-1].split("-")[0]) + "Environment"
    return type(class_name or default_name, (EnvTuneEnvironment,), namespace)


def tool_methods(environment: EnvTuneEnvironment) -> list[Callable[..., str]]:
    """The bound tool methods of ``environment``, as TRL 1.16 finds and orders them (public functions, by name).

    Pass them as ``tools=`` to ``tokenizer.apply_chat_template`` to render the prompt TRL renders.

    Example:
        >>> FileSystem = make_environment_class("EnvTune/FileSystem-v0")
        >>> [method.__name__ for method in tool_methods(FileSystem())][:4]
        ['cat', 'cd', 'cp', 'diff']
    """
    names = [name for name, _ in inspect.getmembers(type(environment), predicate=inspect.isfunction)]
    return [getattr(environment, name) for name in names if not name.startswith("_") and name not in
            ("reset", "get_reward")]  # fmt: skip


def oracle_messages(environment: EnvTuneEnvironment, task_id: str) -> list[dict[str, Any]]:
    """The oracle's episode on ``task_id`` as TRL's tool loop writes one: ``tool_calls`` and ``tool`` messages.

    The calls run in ``environment`` (so the tool messages hold the real results) and the episode ends with the
    oracle's reply. For supervised warm starts on the ``environment_factory`` path, e.g. with TRL's
    ``SFTTrainer`` and ``tools=tool_methods(environment)``.

    Example:
        >>> FileSystem = make_environment_class("EnvTune/FileSystem-v0", first_turn_only=True)
        >>> messages = oracle_messages(FileSystem(), "filesystem_base_0")
        >>> [message["role"] for message in messages], messages[1]["tool_calls"][0]["function"]["name"]
        (['user', 'assistant', 'tool', 'assistant'], 'pwd')
    """
    environment.reset(task_id=task_id)
    task = environment.task
    assert task is not None  # reset() set it
    messages: list[dict[str, Any]] = [{"role": "user", "content": task.turns[0]}]
    for action in oracle_actions(task, style="hermes"):
        calls = parse_action(action).calls
        if not calls:
            messages.append({"role": "assistant", "content": action})
            break
        tool_calls = [{"type": "function", "function": {"name": call.name, "arguments": call.kwargs}}
                      for call in calls]  # fmt: skip
        messages.append({"role": "assistant", "content": "", "tool_calls": tool_calls})
        for call in calls:
            result = getattr(environment, call.name)(**call.kwargs)
            messages.append({"role": "tool", "name": call.name, "content": result})
    return messages


def first_turn(task: Task) -> Task:
    """``task`` cut to its first user turn (its ground truth too; nothing held out).

    Example:
        >>> from envtune_gym.tasks.bundled import load_bundled
        >>> first_turn(load_bundled("filesystem")[0]).turns == load_bundled("filesystem")[0].turns[:1]
        True
    """
    return task.model_copy(
        update={"turns": task.turns[:1], "ground_truth": task.ground_truth[:1], "held_out": {}}
    )


def _mentions(prompt: Any, observation: str) -> bool:
    if not isinstance(prompt, Sequence) or isinstance(prompt, str):
        return False
    return any(isinstance(m, Mapping) and m.get("content") == observation for m in prompt)


def _tool_schemas(env_id: str, env_kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The union of the tools the env's tasks offer at reset, in first-seen order (one reset per domain set)."""
    env = make_env(env_id, env_kwargs)
    try:
        schemas: dict[str, dict[str, Any]] = {}
        seen: set[tuple[str, ...]] = set()
        for task in env.unwrapped.tasks:
            if tuple(task.domains) in seen:
                continue
            seen.add(tuple(task.domains))
            _, info = env.reset(options={"task": first_turn(task)})
            for schema in info["tools"]:
                schemas.setdefault(schema["function"]["name"], schema)
        return list(schemas.values())
    finally:
        env.close()


# ----------------------------------------------------------------------------------------------------------------
# Tool methods with synthesised signatures


def tool_method(schema: Mapping[str, Any]) -> Callable[..., str]:
    """A method that runs the tool of ``schema`` (OpenAI format) in the env, documented for ``get_json_schema``.

    Example:
        >>> schema = {"type": "function", "function": {"name": "cd", "description": "Change directory.",
        ...     "parameters": {"type": "object", "properties": {"folder": {"type": "string",
        ...     "description": "Where to go."}}, "required": ["folder"]}}}
        >>> method = tool_method(schema)
        >>> method.__name__, str(inspect.signature(method))
        ('cd', '(self, *, folder: str) -> str')
        >>> print(method.__doc__)
        Change directory.
        <BLANKLINE>
        Args:
            folder: Where to go.
        <BLANKLINE>
        Returns:
            The call's result, as the environment reports it.
    """
    function = schema["function"]
    name = function["name"]
    parameters_schema = function.get("parameters") or {}
    properties = parameters_schema.get("properties") or {}
    required = set(parameters_schema.get("required") or [])

    def tool(self: EnvTuneEnvironment, **arguments: Any) -> str:
        return self._call(name, arguments)

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    for parameter, spec in properties.items():
        if not parameter.isidentifier() or parameter in ("self", "arguments"):
            raise ValueError(f"tool {name}: parameter {parameter!r} cannot be a Python parameter name")
        annotations[parameter] = json_type_annotation(spec)
        default = inspect.Parameter.empty if parameter in required else spec.get("default")
        parameters.append(inspect.Parameter(parameter, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotations[parameter]))  # fmt: skip
    annotations["return"] = str
    tool.__name__ = tool.__qualname__ = name
    tool.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    tool.__annotations__ = annotations
    tool.__doc__ = _docstring(function.get("description", ""), properties)
    return tool


def json_type_annotation(spec: Mapping[str, Any]) -> Any:
    """The Python annotation ``get_json_schema`` turns back into the JSON schema type ``spec``.

    Example:
        >>> json_type_annotation({"type": ["string", "null"]})
        typing.Optional[str]
        >>> json_type_annotation({"type": "array", "items": {"type": "integer"}})
        list[int]
        >>> json_type_annotation({"type": "string", "enum": ["l", "w"]})
        typing.Literal['l', 'w']
    """
    if spec.get("enum") and all(isinstance(value, (str, int, float, bool)) for value in spec["enum"]):
        base: Any = typing.Literal[tuple(spec["enum"])]
        types = [base] + ([type(None)] if _nullable(spec) else [])
        return typing.Union[tuple(types)] if len(types) > 1 else base  # noqa: UP007 - built from a list
    kinds = spec.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    types = [_json_type(kind, spec) for kind in kinds]
    if len(types) == 1:
        return types[0]
    return typing.Union[tuple(types)]  # noqa: UP007 - built from a list


def _nullable(spec: Mapping[str, Any]) -> bool:
    kinds = spec.get("type")
    return isinstance(kinds, list) and "null" in kinds


def _json_type(kind: str, spec: Mapping[str, Any]) -> Any:
    simple = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None),
              "object": dict, "dict": dict, "any": Any}  # fmt: skip
    if kind in simple:
        return simple[kind]
    if kind in ("array", "tuple"):
        items = spec.get("items")
        return list[json_type_annotation(items)] if isinstance(items, Mapping) and items else list
    raise ValueError(f"unsupported JSON schema type {kind!r}")


def _docstring(description: str, properties: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [_one_line(description) or "A tool."]
    if properties:
        lines += ["", "Args:"]
        lines += [
            f"    {name}: {_one_line(spec.get('description', '')) or name}"
            for name, spec in properties.items()
        ]
    lines += ["", "Returns:", "    The call's result, as the environment reports it."]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    # get_json_schema splits the docstring at "Args:", "Returns:" and "Raises:" and each argument at a new line
    # starting "name:", so descriptions go on one line with those section words defused.
    text = " ".join(text.split())
    return re.sub(r"\b(Args|Returns|Raises):", r"\1 -", text)


# ----------------------------------------------------------------------------------------------------------------
# Tool-call parsing for Hermes-style templates


def add_hermes_response_parser(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Give ``tokenizer`` TRL's Qwen3 response parser (``<tool_call>`` JSON blocks), unless it has one.

    TRL's ``environment_factory`` and ``tools`` parse the model's tool calls with ``tokenizer.parse_response``
    and set the parser only for chat templates it knows by exact text. Templates that write Hermes
    ``<tool_call>`` blocks under another text (the tiny policy's prefix-preserving one, fine-tuned variants)
    need it set by hand.

    Example:
        >>> from envtune_gym.agents.tiny import build_tiny_policy  # doctest: +SKIP
        >>> _, tokenizer = build_tiny_policy(vocab_size=600)  # doctest: +SKIP
        >>> tokenizer = add_hermes_response_parser(tokenizer)  # doctest: +SKIP
        >>> tokenizer.parse_response('<tool_call>\\n{"name": "pwd", "arguments": {}}\\n</tool_call><|im_end|>')  # doctest: +SKIP
        {'role': 'assistant', 'content': '', 'tool_calls': [{'type': 'function', 'function': {'name': 'pwd', 'arguments': {}}}]}
    """
    import transformers
    from packaging.version import Version
    from trl.chat_template_utils import qwen3_schema, qwen3_template

    target = getattr(tokenizer, "tokenizer", tokenizer)  # a VLM processor's tokenizer parses
    if getattr(target, "response_template", None) is not None or getattr(target, "response_schema", None):
        return tokenizer
    # transformers 5.13 introduced response templates; older versions understand only the legacy schema.
    if Version(transformers.__version__) >= Version("5.13.0.dev0"):
        target.response_template = qwen3_template
    else:
        target.response_schema = qwen3_schema
    return tokenizer
