"""Every hyperparameter of the GRPO agent in one dataclass, its presets, and loading from files and flags.

Precedence, lowest first: the dataclass defaults, the preset (``tiny`` or ``qwen3-4b``), a config file (JSON or
TOML), then command-line flags (``--group-size 8``; lists and dicts as JSON, e.g. ``--stages '[...]'``).

Example:
    >>> config = GRPOConfig.from_preset("tiny", total_steps=4)
    >>> config.model, config.total_steps, config.group_size
    ('tiny', 4, 8)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from envtune_gym.wrappers.curriculum import DEFAULT_STAGES, Stage

ScaleRewards = Literal["group", "none"]


@dataclass
class GRPOConfig:
    """The GRPO agent's settings. Field comments say what each is and why it defaults as it does."""

    # --- run -------------------------------------------------------------------------------------------------
    #: Where metrics, TensorBoard logs, checkpoints and the curve PNG go (nothing is written if ``None``).
    out: str | None = None
    seed: int = 0
    #: ``auto`` picks CUDA when available, else CPU.
    device: str = "auto"
    #: Optimizer steps of GRPO.
    total_steps: int = 200
    checkpoint_every: int = 25
    tensorboard: bool = True
    progress: bool = True

    # --- policy ----------------------------------------------------------------------------------------------
    #: ``tiny`` builds a small Qwen3-architecture model and tokenizer locally; otherwise a hub id or local path.
    model: str = "tiny"
    #: ``auto``: bfloat16 on CUDA, float32 on CPU.
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    #: Shape of the ``tiny`` model (ignored for other models).
    tiny_vocab_size: int = 4096
    tiny_hidden_size: int = 128
    tiny_layers: int = 2
    lora: bool = False
    lora_rank: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.0
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    gradient_checkpointing: bool = False
    #: Attention kernel passed to ``from_pretrained`` (``sdpa``, ``flash_attention_2``, ``eager``).
    attn_implementation: str = "sdpa"

    # --- environment and curriculum --------------------------------------------------------------------------
    env_id: str = "EnvTune/FileSystem-v0"
    #: Extra ``gym.make`` arguments, e.g. ``{"split": "train"}`` for ``EnvTune/BFCL-v0``.
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    #: The Environment Tuning code force-ends a turn after 5 steps (BFCL evaluates with 20).
    max_steps_per_turn: int = 5
    #: Curriculum stages, easiest first (``Stage`` fields as dicts in files and flags).
    stages: list[Stage] = field(default_factory=lambda: list(DEFAULT_STAGES))
    curriculum_window: int = 64
    curriculum_threshold: float = 0.7
    curriculum_metric: Literal["success", "reward"] = "success"
    #: Prepended as a system message (the tools block is added by the chat template).
    system_prompt: str | None = None
    #: ``full`` schemas in the prompt, or ``compact`` ones (no parameter descriptions) for small contexts.
    tool_docs: Literal["full", "compact"] = "full"

    # --- rollouts --------------------------------------------------------------------------------------------
    #: Distinct tasks per optimizer step; each is played ``group_size`` times from the same state.
    tasks_per_step: int = 4
    group_size: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    #: Tokens per model message; a message that hits it ends the episode (as the paper's rollouts do).
    max_new_tokens: int = 512
    #: Prompt plus whole multi-turn response, in tokens; reaching it ends the episode.
    max_episode_tokens: int = 8192
    #: Most episodes decoding together (the memory budget may admit fewer; the rest wait their turn).
    generation_batch_size: int = 64
    #: Memory the rollout may plan for, in GiB (KV caches and activations; see agents/memory.py). ``None``: 85%
    #: of the free GPU memory when the rollout starts, or half the available RAM on a CPU.
    rollout_memory_gb: float | None = None
    #: Most positions one prefill forward computes across its rows (bounds the prefill's activation peak).
    prefill_tokens: int = 8192

    # --- algorithm -------------------------------------------------------------------------------------------
    learning_rate: float = 1e-6
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.99
    warmup_steps: int = 0
    #: Asymmetric ("clip-higher") ratio clipping: [1 - clip_low, 1 + clip_high].
    clip_low: float = 0.2
    clip_high: float = 0.28
    #: ``group`` divides advantages by the group's std (GRPO); ``none`` only centres them (Dr. GRPO).
    scale_rewards: ScaleRewards = "group"
    #: Weight of the k3 KL estimate to the reference policy (the paper uses 0.1; 0 loads no reference).
    kl_coef: float = 0.0
    #: Weight of an entropy bonus (entropy is logged either way).
    entropy_coef: float = 0.0
    max_grad_norm: float = 1.0
    #: Optimisation passes over each rollout batch (1: the ratio is 1 and clipping only acts with ppo_epochs > 1).
    ppo_epochs: int = 1
    #: Sequences per forward/backward pass.
    micro_batch_size: int = 4
    #: Positions per chunk of the fp32 log-softmax (vocabularies are ~150k; full fp32 logits do not fit).
    logprob_chunk_size: int = 1024
    #: Give zero weight to episodes cut by a length limit (DAPO's overlong masking).
    mask_truncated: bool = False

    # --- warm start ------------------------------------------------------------------------------------------
    #: SFT steps on oracle demonstrations before GRPO (0: none).
    sft_steps: int = 0
    sft_learning_rate: float = 1e-5
    sft_batch_size: int = 8

    def __post_init__(self) -> None:
        self.stages = [
            stage if isinstance(stage, Stage) else _stage_from_dict(stage) for stage in self.stages
        ]

    def validate(self) -> GRPOConfig:
        """Raise ``ValueError`` naming the first mistyped or inconsistent setting; return ``self``."""
        for item in fields(self):  # types first: the range checks below would raise TypeError on a string
            problem = field_type_problem(item.name, getattr(self, item.name))
            if problem:
                raise ValueError(f"invalid GRPO config: {item.name} {problem}")
        checks = [
            (self.out is None or self.out.strip() != "", "out must name a directory (or be None), not ''"),
            (self.group_size >= 2, "group_size must be >= 2: advantages compare episodes of one group"),
            (self.tasks_per_step >= 1, "tasks_per_step must be >= 1"),
            (self.total_steps >= 0, "total_steps must be >= 0"),
            (self.temperature >= 0, "temperature must be >= 0 (0 is greedy)"),
            (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (self.max_new_tokens >= 1, "max_new_tokens must be >= 1"),
            (self.max_episode_tokens > self.max_new_tokens, "max_episode_tokens must exceed max_new_tokens"),
            (0 <= self.clip_low < 1 and self.clip_high >= 0, "clip_low must be in [0, 1), clip_high >= 0"),
            (self.scale_rewards in ("group", "none"), "scale_rewards must be 'group' or 'none'"),
            (self.kl_coef >= 0 and self.entropy_coef >= 0, "kl_coef and entropy_coef must be >= 0"),
            (
                self.micro_batch_size >= 1 and self.logprob_chunk_size >= 1,
                "batch and chunk sizes must be >= 1",
            ),
            (self.ppo_epochs >= 1, "ppo_epochs must be >= 1"),
            (self.generation_batch_size >= 1, "generation_batch_size must be >= 1"),
            (self.prefill_tokens >= 1, "prefill_tokens must be >= 1"),
            (
                self.rollout_memory_gb is None or self.rollout_memory_gb > 0,
                "rollout_memory_gb must be > 0 (or None for the device's free memory)",
            ),
            (self.learning_rate > 0 and self.sft_learning_rate > 0, "learning rates must be > 0"),
            (self.sft_steps >= 0 and self.sft_batch_size >= 1, "sft_steps >= 0 and sft_batch_size >= 1"),
            (self.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
            (self.max_steps_per_turn >= 1, "max_steps_per_turn must be >= 1"),
            (len(self.stages) >= 1, "stages must name at least one stage"),
            (
                self.curriculum_metric in ("success", "reward"),
                "curriculum_metric must be 'success' or 'reward'",
            ),
            (self.tool_docs in ("full", "compact"), "tool_docs must be 'full' or 'compact'"),
            (self.dtype in ("auto", "float32", "bfloat16", "float16"), f"unknown dtype {self.dtype!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid GRPO config: {message}")
        return self

    # --- construction ----------------------------------------------------------------------------------------

    @classmethod
    def from_preset(cls, name: str = "tiny", **overrides: Any) -> GRPOConfig:
        """The preset's settings with ``overrides`` applied (field names as keywords)."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides}).validate()

    def with_overrides(self, overrides: dict[str, Any]) -> GRPOConfig:
        """A copy with fields replaced; unknown names raise with the list of valid ones."""
        unknown = sorted(set(overrides) - set(field_names()))
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; valid fields: {', '.join(field_names())}")
        return dataclasses.replace(self, **overrides).validate()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (stages as dicts); ``GRPOConfig(**config.to_dict())`` rebuilds it."""
        data = asdict(self)
        data["stages"] = [asdict(stage) for stage in self.stages]
        return data


def field_names() -> list[str]:
    """The names of every :class:`GRPOConfig` field."""
    return [item.name for item in fields(GRPOConfig)]


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Field overrides from a JSON or TOML file (a flat table of field names), each value of its field's type."""
    path = Path(path)
    data = _parse_config_text(path, _read_config_text(path))
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a table of field names")
    known = set(field_names())
    for name, value in data.items():  # unknown names are reported, with the valid ones, by with_overrides
        problem = field_type_problem(name, value) if name in known else None
        if problem:
            raise ValueError(f"config file {str(path)!r}: {name} {problem}")
    return data


def _read_config_text(path: Path) -> str:
    if path.is_dir():
        raise ValueError(f"config file {str(path)!r} is a directory, not a file")
    if not path.exists():
        raise ValueError(f"config file {str(path)!r} does not exist")
    if path.suffix.lower() in (".yaml", ".yml"):
        raise ValueError(
            f"config file {str(path)!r}: YAML is not supported; use JSON, or TOML with a .toml suffix"
        )
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"config file {str(path)!r} cannot be read: {exc}") from exc


def _parse_config_text(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".toml":
        if sys.version_info < (3, 11):
            raise ValueError("TOML config files need Python >= 3.11; use JSON")
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"config file {str(path)!r} is not valid JSON ({exc}); config files are JSON, or TOML with a .toml suffix"
        ) from exc


def parse_flag_value(name: str, text: str) -> Any:
    """A command-line value for field ``name``, converted to the field's type; ``ValueError`` names the flag."""
    flag = f"--{name.replace('_', '-')}"
    value = _convert_flag_text(name, text)
    problem = field_type_problem(name, value)
    if problem:
        raise ValueError(f"{flag} {problem.replace('must be', 'expects', 1)}")
    return value


def _convert_flag_text(name: str, text: str) -> Any:
    """The flag's text as the field's type where it parses, else the text (the type check then names the flag)."""
    default = getattr(GRPOConfig(), name)
    optional = "None" in str(_FIELD_TYPES[name])
    if optional and text.lower() in ("none", "null"):
        return None
    if isinstance(default, bool):
        return _BOOLEANS.get(text.lower(), text)
    if isinstance(default, (list, dict)):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--{name.replace('_', '-')} expects JSON, got {text!r}: {exc}") from exc
    if isinstance(default, int):
        numeric: type = int
    elif isinstance(default, float) or "float" in str(_FIELD_TYPES[name]):
        numeric = float
    else:
        return text
    try:
        return numeric(text)
    except ValueError:
        return text


def field_type_problem(name: str, value: Any) -> str | None:
    """Why ``value`` does not fit field ``name``'s type (``"must be an integer, got 'four'"``), or ``None``.

    Floats must be finite: JSON's ``1e999`` and a flag's ``inf`` or ``nan`` are rejected here.
    """
    expected = _field_hints()[name]
    if _fits(value, expected):
        return None
    return f"must be {_describe(expected)}, got {value!r}"


def describe_field_type(name: str) -> str:
    """What field ``name`` holds, in words (``"an integer"``, ``"a finite number or null"``), for help and errors."""
    return _describe(_field_hints()[name])


@functools.cache
def _field_hints() -> dict[str, Any]:
    """The fields' annotations as types (they are strings under ``from __future__ import annotations``)."""
    return typing.get_type_hints(GRPOConfig)


def _fits(value: Any, expected: Any) -> bool:
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if expected is Any:
        return True
    if origin is Literal:
        return isinstance(value, str) and value in args
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if expected is Stage:
        # a dict becomes a Stage in __post_init__, which reports unknown keys; the one required key is checked here
        return isinstance(value, Stage) or (isinstance(value, dict) and "name" in value)
    if origin is list:
        return isinstance(value, (list, tuple)) and all(_fits(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(key, str) for key in value)
    return isinstance(value, expected)


def _describe(expected: Any) -> str:
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if arg is type(None) else _describe(arg) for arg in args)
    if origin is list:
        return (
            "a list of stage tables (each with a name)"
            if args[0] is Stage
            else f"a list of {_describe(args[0]).split(' ', 1)[1]}s"
        )
    if origin is dict:
        return "a table (a JSON object)"
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    return names.get(expected, f"a {getattr(expected, '__name__', expected)}")


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_FIELD_TYPES = {item.name: item.type for item in fields(GRPOConfig)}


def _stage_from_dict(data: dict[str, Any]) -> Stage:
    if not isinstance(data, dict):
        raise ValueError(f"a stage must be a table of Stage fields, got {data!r}")
    known = {item.name for item in fields(Stage)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown stage field(s) {unknown}; valid: {sorted(known)}")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
    return Stage(**values)


#: The tiny preset: a local model on FileSystem's three shortest base tasks, on a 2-core CPU in a few minutes.
#: A short SFT warm start leaves it partly competent (reward 0.3-0.55); GRPO then raises reward and success. The
#: curriculum goes from hints on to hints off (as the paper's last stage does) once success holds at 0.8.
TINY_PRESET: dict[str, Any] = {
    "model": "tiny",
    "env_id": "EnvTune/FileSystem-v0",
    "total_steps": 60,
    "checkpoint_every": 10,
    "stages": [
        Stage("short_base_hints", categories=("base",), max_calls=2, reward="progress", hints=True),
        Stage("short_base", categories=("base",), max_calls=2, reward="progress", hints=False),
    ],
    "curriculum_window": 48,
    "curriculum_threshold": 0.8,
    "tasks_per_step": 2,
    "group_size": 8,
    "max_steps_per_turn": 2,
    "max_new_tokens": 32,
    "max_episode_tokens": 2048,
    "learning_rate": 3e-4,
    "sft_steps": 35,
    "sft_learning_rate": 3e-3,
    "sft_batch_size": 8,
    "micro_batch_size": 8,
}

#: The paper's setting on one GPU: Qwen3-4B-Instruct-2507 with LoRA over BFCL's training split and the four
#: stages (syntax, base with hints, all with hints, all without hints); KL 0.1 to the adapter-free reference.
QWEN3_4B_PRESET: dict[str, Any] = {
    "model": "Qwen/Qwen3-4B-Instruct-2507",
    "env_id": "EnvTune/BFCL-v0",
    "env_kwargs": {"split": "train"},
    "total_steps": 300,
    "checkpoint_every": 20,
    "stages": list(DEFAULT_STAGES),
    "curriculum_window": 128,
    "curriculum_threshold": 0.7,
    "tasks_per_step": 8,
    "group_size": 8,
    "max_steps_per_turn": 5,
    "max_new_tokens": 1024,
    "max_episode_tokens": 16384,
    "generation_batch_size": 64,
    "lora": True,
    "lora_rank": 32,
    "lora_alpha": 64,
    "gradient_checkpointing": True,
    "learning_rate": 2e-5,
    "kl_coef": 0.1,
    "entropy_coef": 0.0,
    "micro_batch_size": 2,
    "logprob_chunk_size": 1024,
    "sft_steps": 0,
}

PRESETS: dict[str, dict[str, Any]] = {"tiny": TINY_PRESET, "qwen3-4b": QWEN3_4B_PRESET}
