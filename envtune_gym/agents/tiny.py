"""A tiny Qwen3-architecture policy built locally: a BPE tokenizer trained on the fly and a random-init model.

The GRPO agent's ``tiny`` preset needs a causal LM without any model hub, so everything here is built from the
bundled tasks: :func:`demonstration_corpus` replays the oracle through the envs and renders each conversation
with :data:`CHAT_TEMPLATE` (ChatML with Hermes tool calls, as Qwen3-Instruct-2507 writes it);
:func:`build_tokenizer` trains a byte-level BPE on that text; :func:`build_tiny_policy` adds a randomly
initialised :class:`~transformers.Qwen3ForCausalLM`. The whole build takes a few seconds on a 2-core CPU and the
same corpus and seed give the same vocabulary and weights.

Measured on the default corpus (``EnvTune/FileSystem-v0``: 53 tasks, so 53 conversations, 793,398 characters)
with ``vocab_size=4096``: the longest conversation is 572 tokens and a first prompt with FileSystem's 18 full tool
schemas ~100, because the BPE splits only at line breaks and learns whole schema lines as tokens (with Qwen2's
word-level split the same prompt is ~2,800 tokens). Building takes about 1 s after the 4 s of importing torch and
transformers on a 2-core CPU.

torch, transformers, tokenizers and jinja2 (the ``train`` extra) are imported inside the functions: the package's
doctests import every module, and the suite has to pass without that extra.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gymnasium as gym
    import jinja2
    import tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    from envtune_gym.tasks import Task

#: Tokens that are each one id, 0 to 8: ChatML's markers (special, as ``eos`` and ``pad``), then Hermes tool-call tags
#: and Qwen3's thinking tags (single ids that decoding keeps, as in Qwen3; see :func:`build_tokenizer`).
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)

#: The tiny tokenizer splits only at line breaks, unlike Qwen2's word-level regex: BPE merges may then span
#: words, and on this corpus whole schema lines and frequent calls become single tokens. Sequences get ~8x
#: shorter (a FileSystem prompt is ~100 tokens, not ~2,800), which is what lets a 2-core CPU train in minutes.
_SPLIT_PATTERN = r"\n"

# Qwen3-Instruct-2507's ChatML with one change so that it is prefix-preserving: the user block holding a run of
# tool messages is closed by whatever comes next (a message or the generation prompt), not by the last tool
# message itself, since a render cannot know whether another tool message follows. The system block holding the
# tools waits for a message (or the generation prompt), since a leading system message goes into it, so the
# empty conversation renders as nothing.
#: The chat template of the tiny policy (Jinja, as ``tokenizer.chat_template``).
CHAT_TEMPLATE: str = r"""
{%- if tools and (messages or add_generation_prompt) %}
    {{- '<|im_start|>system\n' }}
    {%- if messages and messages[0].role == 'system' and messages[0].content is string %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' }}
    {{- 'You are provided with function signatures within <tools></tools> XML tags:\n<tools>' }}
    {%- for tool in tools %}
        {{- '\n' }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- '\n</tools>\n\nFor each function call, return a json object with function name and arguments within ' }}
    {{- '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, ' }}
    {{- '"arguments": <args-json-object>}\n</tool_call><|im_end|>\n' }}
{%- elif messages and messages[0].role == 'system' %}
    {{- '<|im_start|>system\n' + (messages[0].content if messages[0].content is string else '') }}
    {{- '<|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
    {%- set content = message.content if message.content is string else '' %}
    {%- if message.role != 'tool' and loop.previtem is defined and loop.previtem.role == 'tool' %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
    {%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}
    {%- elif message.role == 'assistant' %}
        {{- '<|im_start|>assistant\n' + content }}
        {%- for tool_call in message.tool_calls or [] %}
            {%- if content or not loop.first %}
                {{- '\n' }}
            {%- endif %}
            {%- set call = tool_call.function if tool_call.function is defined else tool_call %}
            {{- '<tool_call>\n{"name": "' + call.name + '", "arguments": ' }}
            {%- if call.arguments is string %}
                {{- call.arguments }}
            {%- else %}
                {{- call.arguments | tojson }}
            {%- endif %}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.previtem is defined and loop.previtem.role == 'tool' %}
            {{- '\n' }}
        {%- else %}
            {{- '<|im_start|>user\n' }}
        {%- endif %}
        {{- '<tool_response>\n' + content + '\n</tool_response>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {%- if messages and messages[-1].role == 'tool' %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
""".strip()


def render_chat(
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    add_generation_prompt: bool = False,
) -> str:
    """Render a conversation with :data:`CHAT_TEMPLATE`, without a tokenizer.

    It uses the same Jinja settings as ``tokenizer.apply_chat_template(..., tokenize=False)``, which gives the
    same text.

    Example:
        >>> render_chat([{"role": "user", "content": "hi"}], add_generation_prompt=True)  # doctest: +SKIP
        '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n'
    """
    return _compiled_template().render(
        messages=list(messages),
        tools=list(tools) if tools else None,
        add_generation_prompt=add_generation_prompt,
    )


@functools.lru_cache(maxsize=1)
def _compiled_template() -> jinja2.Template:
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # transformers' settings: trimmed blocks, loop controls, and a ``tojson`` that leaves HTML characters and
    # non-ASCII text alone and keeps the key order (Jinja's own escapes ``<`` and sorts keys).
    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    environment.filters["tojson"] = lambda value: json.dumps(value, ensure_ascii=False)
    return environment.from_string(CHAT_TEMPLATE)


def oracle_conversation(env: gym.Env, task: Task) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The oracle's episode on ``task`` as chat messages, with the tools the env offers at reset.

    Observations are user messages verbatim (tool results already carry ``<tool_response>`` tags) and actions
    are assistant messages in Hermes style; the empty observation at the end is left out.

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("EnvTune/FileSystem-v0")
        >>> messages, tools = oracle_conversation(env, env.unwrapped.tasks[0])
        >>> [message["role"] for message in messages][:3], messages[1]["content"].startswith("<tool_call>")
        (['user', 'assistant', 'user'], True)
    """
    from envtune_gym.agents.oracle import oracle_actions

    observation, info = env.reset(options={"task_id": task.id})
    messages = [{"role": "user", "content": observation}]
    for action in oracle_actions(task, style="hermes"):
        observation, _, terminated, truncated, _ = env.step(action)
        messages.append({"role": "assistant", "content": action})
        if observation:
            messages.append({"role": "user", "content": observation})
        if terminated or truncated:
            break
    return messages, info["tools"]


def demonstration_corpus(env_ids: Sequence[str] = ("EnvTune/FileSystem-v0",)) -> list[str]:
    """The oracle's conversations on every bundled task of ``env_ids``, rendered with :data:`CHAT_TEMPLATE`.

    This is what :func:`build_tokenizer` trains on by default, so the policy's vocabulary fits the text it sees.

    Example:
        >>> corpus = demonstration_corpus()  # doctest: +SKIP
        >>> len(corpus), corpus[0].startswith("<|im_start|>system\\n# Tools")  # doctest: +SKIP
        (53, True)
    """
    import gymnasium as gym

    import envtune_gym  # noqa: F401 - registers the EnvTune/* ids

    corpus = []
    for env_id in env_ids:
        env = gym.make(env_id)
        try:
            for task in env.unwrapped.tasks:
                messages, tools = oracle_conversation(env, task)
                corpus.append(render_chat(messages, tools=tools))
        finally:
            env.close()
    return corpus


def build_tokenizer(corpus: Iterable[str], vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``corpus``, with :data:`SPECIAL_TOKENS` and :data:`CHAT_TEMPLATE`.

    Byte-level with no normalizer and no prefix space, so decoding an encoding gives back the exact text; the
    same corpus gives the same vocabulary. As in Qwen3, only ChatML's markers are special: the tool-call and
    thinking tags are single ids that ``decode(..., skip_special_tokens=True)`` keeps, since they are what a
    completion's tool calls are parsed from.

    Example:
        >>> tokenizer = build_tokenizer(["hello world"] * 10, vocab_size=300)  # doctest: +SKIP
        >>> tokenizer.decode(tokenizer.encode("<|im_start|>héllo 👋"))  # doctest: +SKIP
        '<|im_start|>héllo 👋'
        >>> ids = tokenizer.encode("<tool_call>{}</tool_call><|im_end|>")  # doctest: +SKIP
        >>> tokenizer.decode(ids, skip_special_tokens=True)  # doctest: +SKIP
        '<tool_call>{}</tool_call>'
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    # Split at line breaks (see _SPLIT_PATTERN), then map bytes to printable characters without GPT-2's regex.
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),  # ids 0 to 8, in order
        # All 256 bytes up front, so any text encodes, including characters the corpus never had.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_without_special_tokens(corpus), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=_tags_as_text(backend),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        chat_template=CHAT_TEMPLATE,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )


def _without_special_tokens(corpus: Iterable[str]) -> Iterator[str]:
    # Encoding cuts the special tokens out before the BPE sees the text, so training does too: otherwise merges
    # are spent on pieces such as "<|im" that never occur.
    pattern = re.compile("|".join(re.escape(token) for token in SPECIAL_TOKENS))
    for text in corpus:
        yield from filter(None, pattern.split(text))


def _tags_as_text(backend: tokenizers.Tokenizer) -> tokenizers.Tokenizer:
    # The trainer adds every one of SPECIAL_TOKENS as special; Qwen3 marks the tags after ChatML's three markers
    # as not special. Rewriting the serialised form keeps the backend's state consistent, which re-adding the
    # tokens does not.
    from tokenizers import Tokenizer

    state = json.loads(backend.to_str())
    for token in state["added_tokens"]:
        token["special"] = token["content"] in SPECIAL_TOKENS[:3]
    return Tokenizer.from_str(json.dumps(state))


def tiny_qwen3_config(
    vocab_size: int,
    *,
    hidden_size: int = 128,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    num_key_value_heads: int = 2,
    head_dim: int = 32,
    intermediate_size: int = 384,
    max_position_embeddings: int = 8192,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    bos_token_id: int | None = None,
) -> Qwen3Config:
    """A small :class:`~transformers.Qwen3Config` (grouped-query attention, tied embeddings).

    Example:
        >>> config = tiny_qwen3_config(2048, eos_token_id=2, pad_token_id=0)  # doctest: +SKIP
        >>> config.hidden_size, config.tie_word_embeddings, config.eos_token_id  # doctest: +SKIP
        (128, True, 2)
    """
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads,
        head_dim=head_dim,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        # Tied embeddings halve the parameters, as Qwen3's small models do.
        tie_word_embeddings=True,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        bos_token_id=bos_token_id,
    )


def build_tiny_policy(
    corpus: Sequence[str] | None = None, *, vocab_size: int = 4096, seed: int = 0, **config_overrides: Any
) -> tuple[Qwen3ForCausalLM, PreTrainedTokenizerFast]:
    """A randomly initialised tiny Qwen3 model in fp32 and its tokenizer trained on ``corpus``.

    ``corpus`` defaults to :func:`demonstration_corpus`; ``config_overrides`` go to :func:`tiny_qwen3_config`.
    The same corpus and seed give the same vocabulary and weights; the global torch RNG is left as it was.

    Example:
        >>> model, tokenizer = build_tiny_policy(["hello world"] * 10, vocab_size=300)  # doctest: +SKIP
        >>> model.config.vocab_size == len(tokenizer), model.dtype  # doctest: +SKIP
        (True, torch.float32)
    """
    import torch
    from transformers import Qwen3ForCausalLM

    tokenizer = build_tokenizer(demonstration_corpus() if corpus is None else corpus, vocab_size=vocab_size)
    config = tiny_qwen3_config(
        len(tokenizer),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        **config_overrides,
    )
    # A forked RNG gives the weights from the seed alone, without reseeding the caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config).to(torch.float32)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model, tokenizer


def save_tiny_policy(
    model: Qwen3ForCausalLM, tokenizer: PreTrainedTokenizerFast, directory: str | Path
) -> Path:
    """Save ``model`` and ``tokenizer`` with ``save_pretrained`` so the ``Auto*`` classes load them back.

    Example:
        >>> save_tiny_policy(*build_tiny_policy(), "tiny-policy")  # doctest: +SKIP
        PosixPath('tiny-policy')
    """
    directory = Path(directory)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
