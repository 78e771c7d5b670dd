"""Loading the policy: the tiny local model or any transformers causal LM, on a device, optionally with LoRA.

Precision: the trained parameters are fp32 master weights (AdamW's ~1e-6 steps vanish in bf16 for any weight
above ~2.6e-4), frozen ones (a LoRA base) stay in the compute dtype, and forward passes run under
:meth:`Policy.autocast` in the compute dtype (``dtype``: bf16 on CUDA by default).

Example:
    >>> from envtune_gym.agents.config import GRPOConfig
    >>> policy = load_policy(GRPOConfig.from_preset("tiny", tiny_vocab_size=600))
    >>> policy.device.type, policy.model.dtype
    ('cpu', torch.float32)
"""

from __future__ import annotations

import contextlib
import shutil
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
    #: Where a locally saved base model lies (LoRA checkpoints of the tiny or a merged model point at it).
    base_directory: Path | None = None
    #: The dtype forward passes compute in (``config.dtype``); trainable parameters themselves are fp32.
    compute_dtype: torch.dtype = torch.float32

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [parameter for parameter in self.model.parameters() if parameter.requires_grad]

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context every forward pass of this policy runs in: autocast to ``compute_dtype`` unless fp32."""
        if self.compute_dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.compute_dtype)

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
    config: GRPOConfig,
    checkpoint: str | Path | None = None,
    base_directory: str | Path | None = None,
    *,
    for_training: bool = True,
) -> Policy:
    """The policy the config names, or the one saved in ``checkpoint`` (a directory written by ``Policy.save``).

    ``base_directory``: with LoRA on the locally built tiny model, where to save its base weights so that
    adapter checkpoints can be loaded again. ``for_training=False`` (inference only) keeps every weight in the
    compute dtype instead of making fp32 master copies of the trainable ones.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype, device)
    base = None
    if checkpoint is not None:
        # A full checkpoint holds fp32 master weights: loading them in bf16 would round the training away.
        model, tokenizer = _load_saved(
            config, Path(checkpoint), dtype, torch.float32 if for_training else dtype
        )
        pointer = Path(checkpoint) / "BASE"
        base = Path(pointer.read_text(encoding="utf-8").strip()) if pointer.is_file() else None
    elif config.model == "tiny":
        model, tokenizer = _build_tiny(config)
        model = model.to(dtype)
        if config.lora and base_directory is not None:
            base = save_base(model, tokenizer, base_directory)
    else:
        model, tokenizer = _load_pretrained(config.model, config, dtype)
    if config.lora and not _is_peft(model):
        model = _add_lora(model, config)
    if config.gradient_checkpointing:
        enable_activation_checkpointing(model)
        if config.lora:
            model.enable_input_require_grads()
    if for_training:
        _master_weights_fp32(model)
    model.to(device)
    return Policy(model, tokenizer, device, lora=config.lora, base_directory=base, compute_dtype=dtype)


def merge_lora(policy: Policy, config: GRPOConfig, base_directory: str | Path | None) -> Policy:
    """Fold the trained LoRA adapter into the base weights and put a fresh (zero) adapter on top.

    After an SFT warm start this makes the adapter-free model, GRPO's KL reference, the post-SFT model (as it is
    without LoRA) rather than the pre-SFT one. The merged base is saved to ``base_directory`` (when given) and
    the returned policy's checkpoints point at it, so that ``--resume`` rebuilds the same base.
    """
    if not policy.lora:
        raise ValueError("merge_lora needs a LoRA policy (config.lora=True)")
    # The merged weights are the base's compute dtype, as a loaded base is.
    merged = policy.model.merge_and_unload()
    # Unsaved, the merged base is nowhere on disk: no checkpoint may point at the base it came from.
    base = save_base(merged, policy.tokenizer, base_directory) if base_directory is not None else None
    model = _add_lora(merged, config)
    _master_weights_fp32(model)
    model.to(policy.device)
    return Policy(
        model,
        policy.tokenizer,
        policy.device,
        lora=True,
        base_directory=base,
        compute_dtype=policy.compute_dtype,
    )


def save_base(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, directory: str | Path) -> Path:
    """Save a base model for LoRA checkpoints to point at (written aside, then moved: never half a base)."""
    directory = Path(directory).resolve()
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return directory


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
        model, tokenizer = _from_local_or_hub(name, config, dtype)
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


def _from_local_or_hub(
    name: str, config: GRPOConfig, dtype: torch.dtype
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A local directory, else the hub cache, else a download; an unreachable hub is an ``OSError`` at once.

    Without the cache check and the probe, an unreachable hub costs about a minute of transformers' retries.
    """

    def load(**options: Any) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        tokenizer = AutoTokenizer.from_pretrained(name, **options)
        model = AutoModelForCausalLM.from_pretrained(
            name, dtype=dtype, attn_implementation=config.attn_implementation, **options
        )
        return model, tokenizer

    if Path(name).is_dir():
        return load()
    try:
        return load(local_files_only=True)
    except OSError as cache_miss:
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            raise
        unreachable = hub_unreachable()
        if unreachable is not None:
            raise OSError(f"not in the local hub cache, and {unreachable}") from cache_miss
    return load()


def hub_unreachable(timeout: float = 5.0) -> str | None:
    """Why the model hub (``huggingface_hub.constants.ENDPOINT``) cannot be reached, or ``None`` if it answers.

    One HEAD request with a short timeout and no retries; any HTTP answer, even an error status, counts as
    reachable. The environment's proxy settings apply, as they do to the hub client.
    """
    import urllib.error
    import urllib.request

    from huggingface_hub import constants

    endpoint = constants.ENDPOINT
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as exc:  # no DNS, refused, timed out
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return f"the hub at {endpoint} is unreachable ({reason})"
    return None


def _load_saved(
    config: GRPOConfig, directory: Path, dtype: torch.dtype, full_dtype: torch.dtype
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """An adapter on its (frozen, ``dtype``) base, or a full model in ``full_dtype``."""
    if (directory / "adapter_config.json").is_file():
        from peft import PeftModel

        pointer = directory / "BASE"
        base_name = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else config.model
        base, tokenizer = _load_pretrained(base_name, config, dtype)
        model = PeftModel.from_pretrained(base, directory, is_trainable=True)
        return model, AutoTokenizer.from_pretrained(directory)
    return _load_pretrained(str(directory), config, full_dtype)


def _master_weights_fp32(model: torch.nn.Module) -> None:
    """Trainable parameters (and so gradients and AdamW moments) in fp32; frozen ones keep their dtype."""
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != torch.float32:
            parameter.data = parameter.data.float()


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
