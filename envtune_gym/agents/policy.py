"""Loading the policy: the tiny local model or any transformers causal LM, on a device, optionally with LoRA.

Example:
    >>> from envtune_gym.agents.config import GRPOConfig
    >>> policy = load_policy(GRPOConfig.from_preset("tiny", tiny_vocab_size=600))
    >>> policy.device.type, policy.model.dtype
    ('cpu', torch.float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from envtune_gym.agents.config import GRPOConfig

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class Policy:
    """The trained model, its tokenizer and where it runs."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    #: True when ``model`` is a peft model whose adapters can be switched off for a reference policy.
    lora: bool = False
    #: Where a locally built base model lies (LoRA checkpoints of the tiny model point at it).
    base_directory: Path | None = None

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [parameter for parameter in self.model.parameters() if parameter.requires_grad]

    def save(self, directory: str | Path) -> None:
        """Weights (the adapter alone with LoRA) and tokenizer, loadable with ``from_pretrained``."""
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but CUDA is not available here")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto`` is bfloat16 on CUDA and float32 on CPU (the same code path, different precision)."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return _DTYPES[name]


def load_policy(
    config: GRPOConfig, checkpoint: str | Path | None = None, base_directory: str | Path | None = None
) -> Policy:
    """The policy the config names, or the one saved in ``checkpoint`` (a directory written by ``Policy.save``).

    ``base_directory``: with LoRA on the locally built tiny model, where to save its base weights so that
    adapter checkpoints can be loaded again.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype, device)
    base = None
    if checkpoint is not None:
        model, tokenizer = _load_saved(config, Path(checkpoint), dtype)
        pointer = Path(checkpoint) / "BASE"
        base = Path(pointer.read_text(encoding="utf-8").strip()) if pointer.is_file() else None
    elif config.model == "tiny":
        model, tokenizer = _build_tiny(config)
        model = model.to(dtype)
        if config.lora and base_directory is not None:
            base = Path(base_directory).resolve()
            model.save_pretrained(base)
            tokenizer.save_pretrained(base)
    else:
        model, tokenizer = _load_pretrained(config.model, config, dtype)
    if config.lora and not _is_peft(model):
        model = _add_lora(model, config)
    if config.gradient_checkpointing:
        enable_activation_checkpointing(model)
        if config.lora:
            model.enable_input_require_grads()
    model.to(device)
    return Policy(model, tokenizer, device, lora=config.lora, base_directory=base)


def enable_activation_checkpointing(model: PreTrainedModel) -> None:
    """Non-reentrant activation (gradient) checkpointing, by whichever name this transformers has.

    transformers 5.2x renamed ``gradient_checkpointing_enable`` to ``activation_checkpointing_enable`` (the old
    name warns and goes in v6); older releases, which verl pins, have only the old name.
    """
    options = {"use_reentrant": False}
    enable = getattr(model, "activation_checkpointing_enable", None)
    if enable is not None:
        enable(activation_checkpointing_kwargs=options)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=options)


def _build_tiny(config: GRPOConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    from envtune_gym.agents.tiny import build_tiny_policy, demonstration_corpus

    corpus = demonstration_corpus((config.env_id,)) if config.env_id.startswith("EnvTune/") else None
    return build_tiny_policy(
        corpus,
        vocab_size=config.tiny_vocab_size,
        seed=config.seed,
        hidden_size=config.tiny_hidden_size,
        num_hidden_layers=config.tiny_layers,
    )


def _load_pretrained(
    name: str, config: GRPOConfig, dtype: torch.dtype
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(
            name, dtype=dtype, attn_implementation=config.attn_implementation
        )
    except OSError as exc:
        raise ValueError(
            f"cannot load model {name!r}: {exc}. Give a local directory with config.json, weights and a "
            "tokenizer, a hub id reachable from this machine, or model='tiny' for the local tiny model"
        ) from exc
    if tokenizer.chat_template is None:
        raise ValueError(f"the tokenizer of {name!r} has no chat template; the agent needs one for tools")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _load_saved(
    config: GRPOConfig, directory: Path, dtype: torch.dtype
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    if (directory / "adapter_config.json").is_file():
        from peft import PeftModel

        pointer = directory / "BASE"
        base_name = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else config.model
        base, tokenizer = _load_pretrained(base_name, config, dtype)
        model = PeftModel.from_pretrained(base, directory, is_trainable=True)
        return model, AutoTokenizer.from_pretrained(directory)
    return _load_pretrained(str(directory), config, dtype)


def _add_lora(model: PreTrainedModel, config: GRPOConfig) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as exc:
        raise ValueError("lora=True needs peft: pip install 'envtune-gym[train]'") from exc
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def _is_peft(model: Any) -> bool:
    return hasattr(model, "disable_adapter") and hasattr(model, "peft_config")
