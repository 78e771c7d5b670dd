"""The rollout memory model: what a batch of episodes costs in KV cache and activations, against a budget.

The rollout engine (:mod:`envtune_gym.agents.engine`) admits episodes into its decode batch only while the batch's
estimated peak stays under a budget. The estimate for one message round of ``rows`` episodes is

    KV:          rows x width x kv_bytes_per_token x (1 + 1 / layers)
                 width = longest cached context + longest pending delta + max_new_tokens (rows are padded to the
                 batch's longest, not the global one); one layer's worth is in flight while rows are copied
    prefill:     positions x (4 hidden + 2 (heads + 2 kv_heads) head_dim + 3 intermediate) x dtype bytes
                 + positions x kv_width (the boolean attention mask; x heads x 4 bytes with ``eager`` scores)
                 positions = rows x chunk <= ``prefill_tokens`` per forward
    sampling:    rows x vocab x (dtype bytes + 24): the logits, fp32 and fp64 working copies for the draw

    kv_bytes_per_token = 2 (keys, values) x layers x kv_heads x head_dim x dtype bytes

For Qwen3-4B in bf16 that is 2 x 36 x 8 x 128 x 2 B = 144 KiB a token: 64 episodes of 16k tokens would need
144 GiB of KV alone, so the engine keeps as many episodes resident as the budget allows and the rest wait.
:func:`qwen3_4b_table` prints the figures in docs/agent.md.

Example:
    >>> shape = ModelShape(layers=36, heads=32, kv_heads=8, head_dim=128, hidden=2560, intermediate=9728,
    ...                    vocab=151936, dtype_bytes=2)
    >>> shape.kv_bytes_per_token // 1024
    144
    >>> plan = MemoryPlan(shape, budget_bytes=60 * 2**30)
    >>> plan.rows_that_fit(context=16384, new_tokens=1024)
    24
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

#: Qwen3-4B's architecture (config.json of Qwen/Qwen3-4B-Instruct-2507): the memory table's model and the shape
#: of the random-weight benchmarks.
QWEN3_4B_CONFIG: dict[str, Any] = dict(
    vocab_size=151_936, hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32,
    num_key_value_heads=8, head_dim=128, max_position_embeddings=32_768, tie_word_embeddings=True,
    rope_theta=5_000_000.0, rms_norm_eps=1e-6,
)  # fmt: skip

#: Share of the free accelerator memory a rollout may plan for (the allocator fragments; kernels need workspace).
GPU_BUDGET_SHARE = 0.85
#: Share of the available RAM on a CPU.
CPU_BUDGET_SHARE = 0.5


@dataclass(frozen=True)
class ModelShape:
    """The sizes of a decoder-only transformer that its rollout memory depends on."""

    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    hidden: int
    intermediate: int
    vocab: int
    #: Bytes per element of the compute dtype (what keys, values and activations are stored in).
    dtype_bytes: int

    @classmethod
    def of(cls, model: torch.nn.Module, compute_dtype: torch.dtype | None = None) -> ModelShape:
        """The shape of a transformers model (its text config).

        Activations and caches are counted in the wider of ``compute_dtype`` and the embeddings' dtype: under
        autocast, fp32 master weights keep the residual stream (and so the rotated keys) in fp32.
        """
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        heads = config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        embedding = model.get_input_embeddings().weight.dtype
        dtype = torch.promote_types(compute_dtype, embedding) if compute_dtype is not None else embedding
        return cls(
            layers=config.num_hidden_layers,
            heads=heads,
            kv_heads=getattr(config, "num_key_value_heads", None) or heads,
            head_dim=head_dim,
            hidden=config.hidden_size,
            intermediate=config.intermediate_size,
            vocab=config.vocab_size,
            dtype_bytes=torch.empty((), dtype=dtype).element_size(),
        )

    @property
    def kv_bytes_per_token(self) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * self.dtype_bytes

    @property
    def activation_bytes_per_position(self) -> int:
        """The widest point of one decoder layer's inference forward, per query position."""
        projections = 2 * (self.heads + 2 * self.kv_heads) * self.head_dim
        return (4 * self.hidden + projections + 3 * self.intermediate) * self.dtype_bytes


@dataclass(frozen=True)
class MemoryPlan:
    """Estimates of a message round's peak memory, and the budget they must stay under.

    Args:
        shape: the model's :class:`ModelShape`.
        budget_bytes: what the rollout may use on top of the weights and the optimizer state.
        prefill_tokens: most query positions one prefill forward computes (rows x chunk).
        eager_attention: the attention scores are materialised (``attn_implementation="eager"``).
    """

    shape: ModelShape
    budget_bytes: int
    prefill_tokens: int = 8192
    eager_attention: bool = False

    def kv_bytes(self, rows: int, width: int) -> int:
        """Keys and values of ``rows`` episodes padded to ``width`` positions, with one layer in flight."""
        per_layer = self.shape.kv_bytes_per_token // self.shape.layers
        return rows * width * (self.shape.kv_bytes_per_token + per_layer)

    def prefill_chunk(self, rows: int, input_width: int) -> int:
        """Positions per row per prefill forward: the whole delta, or what ``prefill_tokens`` allows."""
        return max(1, min(input_width, self.prefill_tokens // max(1, rows)))

    def forward_bytes(self, positions: int, kv_width: int) -> int:
        """Activations of one forward over ``positions`` query positions attending to ``kv_width`` keys."""
        mask = positions * kv_width * (self.shape.heads * 4 if self.eager_attention else 1)
        return positions * self.shape.activation_bytes_per_position + mask

    def sampling_bytes(self, rows: int) -> int:
        return rows * self.shape.vocab * (self.shape.dtype_bytes + 24)

    def round_bytes(
        self, rows: int, prefill_rows: int, cache_width: int, input_width: int, new_tokens: int
    ) -> int:
        """Peak of one message round: ``rows`` episodes after ``prefill_rows`` distinct prefills.

        ``cache_width``: the longest cached context; ``input_width``: the longest pending delta.
        """
        width = cache_width + input_width + new_tokens
        chunk = self.prefill_chunk(prefill_rows, input_width)
        prefill = self.forward_bytes(prefill_rows * chunk, cache_width + input_width)
        decode = self.forward_bytes(rows, width)
        return self.kv_bytes(rows, width) + max(prefill, decode) + self.sampling_bytes(rows)

    def fits(self, rows: int, prefill_rows: int, cache_width: int, input_width: int, new_tokens: int) -> bool:
        return self.round_bytes(rows, prefill_rows, cache_width, input_width, new_tokens) <= self.budget_bytes

    def rows_that_fit(self, context: int, new_tokens: int) -> int:
        """How many episodes of ``context`` cached tokens can decode ``new_tokens`` more at once."""
        rows = 0
        while self.fits(rows + 1, rows + 1, context, 1, new_tokens):
            rows += 1
        return rows


def available_bytes(device: torch.device) -> int:
    """The default rollout budget: a share of the free GPU memory, or of the available RAM on a CPU."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * GPU_BUDGET_SHARE)
    return int(_available_ram() * CPU_BUDGET_SHARE)


def format_bytes(size: float) -> str:
    """``1.50 GiB``, ``12.0 MiB``: the unit that keeps the figure readable.

    Example:
        >>> format_bytes(3 * 2**29), format_bytes(12 * 2**20)
        ('1.50 GiB', '12.0 MiB')
    """
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def _available_ram() -> int:
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 8 * 2**30


def qwen3_4b_table(budget_gib: float = 60.0, episodes: int = 64, new_tokens: int = 1024) -> str:
    """The Markdown table of docs/agent.md: Qwen3-4B in bf16, the preset's batch, at 4k, 8k and 16k contexts."""
    config = QWEN3_4B_CONFIG
    shape = ModelShape(
        layers=config["num_hidden_layers"], heads=config["num_attention_heads"],
        kv_heads=config["num_key_value_heads"], head_dim=config["head_dim"], hidden=config["hidden_size"],
        intermediate=config["intermediate_size"], vocab=config["vocab_size"], dtype_bytes=2,
    )  # fmt: skip
    plan = MemoryPlan(shape, budget_bytes=int(budget_gib * 2**30))
    lines = [
        f"| context | KV of {episodes} episodes, all resident | resident within {budget_gib:g} GiB | their peak |",
        "|---|---|---|---|",
    ]
    for context in (4096, 8192, 16384):
        everyone = episodes * context * shape.kv_bytes_per_token / 2**30
        rows = min(episodes, plan.rows_that_fit(context, new_tokens))
        peak = plan.round_bytes(rows, rows, context, 1, new_tokens) / 2**30
        lines.append(f"| {context // 1024}k | {everyone:.0f} GiB | {rows} | {peak:.1f} GiB |")
    return "\n".join(lines)


class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of the tensors that operators create while it is active, on any device (CPU included).

    CUDA has ``torch.cuda.max_memory_allocated``; a CPU has no such counter, so this mode counts each new
    storage an operator returns until the storage is freed. Tensors that existed before (the weights) are not
    counted: what is measured is what a computation adds, which is what :class:`MemoryPlan` estimates.

    Example:
        >>> with LiveTensorBytes() as live:
        ...     a = torch.zeros(1000, 1000)
        ...     b = a + 1
        ...     del a, b
        >>> live.peak, live.current
        (8000000, 0)
    """

    def __init__(self) -> None:
        super().__init__()
        self._sizes: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for item in tree_leaves(out):
            if isinstance(item, torch.Tensor):
                self._track(item.untyped_storage())
        return out

    def _track(self, storage: torch.UntypedStorage) -> None:
        key = id(storage)
        if key in self._sizes:
            return
        size = storage.nbytes()
        self._sizes[key] = size
        self.current += size
        self.peak = max(self.peak, self.current)
        weakref.finalize(storage, self._release, key)

    def _release(self, key: int) -> None:
        self.current -= self._sizes.pop(key, 0)
