"""The tiny local policy: tokenizer (special tokens, exact round trip), chat template, determinism, save/load."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

from envtune_gym.agents.oracle import TURN_DECLINED, TURN_DONE  # noqa: E402
from envtune_gym.agents.tiny import (  # noqa: E402
    CHAT_TEMPLATE,
    SPECIAL_TOKENS,
    build_tiny_policy,
    build_tokenizer,
    demonstration_corpus,
    render_chat,
    save_tiny_policy,
    tiny_qwen3_config,
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "ls",
            "description": "List a directory's contents <with> & 'quotes'.",
            "parameters": {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": []},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "cat",
            "description": "Show a file (UTF-8: é, 文件).",
            "parameters": {
                "type": "object",
                "properties": {"file_name": {"type": "string"}},
                "required": ["file_name"],
            },
        },
    },
]

#: Every kind of message: a system prompt, content with and without tool calls, dict and string arguments, a run
#: of two tool results, a single one, and a later system message.
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is here?"},
    {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [{"type": "function", "function": {"name": "ls", "arguments": {"a": True}}}],
    },
    {"role": "tool", "content": '{"current_directory_content": ["notes.txt", "文件.txt"]}'},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"type": "function", "function": {"name": "cat", "arguments": '{"file_name": "notes.txt"}'}},
            {"name": "cat", "arguments": {"file_name": "文件.txt"}},
        ],
    },
    {"role": "tool", "content": '{"file_content": "hello"}'},
    {"role": "tool", "content": '{"file_content": "👋"}'},
    {"role": "assistant", "content": "Two files: hello and 👋."},
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Thanks!"},
    {"role": "assistant", "content": TURN_DONE},
]

TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
    "<args-json-object>}\n</tool_call>"
)

ROUND_TRIP_TEXTS = [
    "plain ascii text",
    "  leading spaces, trailing spaces  ",
    "tabs\tand\r\nwindows newlines\n\n\nand blank lines",
    "unicode: héllo wörld, naïve café, 日本語のテキスト, Ελληνικά, עברית",
    "combining e\u0301 vs \u00e9 and ﬁ ligature and full-width Ａ１",
    "emoji: 👋🏽 👨‍👩‍👧‍👦 🇫🇷 ✅",
    json.dumps({"name": "cat", "arguments": {"file_name": "文件.txt", "n": [1, 2.5, None, True]}}),
    json.dumps({"emoji": "🙂", "quote": 'say "hi"'}, ensure_ascii=True),
    '<tool_call>\n{"name": "ls", "arguments": {}}\n</tool_call><|im_end|>\n<|im_start|>user\n',
    "<think>\nhmm</think><tool_response>\n{}\n</tool_response><|endoftext|>",
    "partial <tool_ca ll> and < |im_end| > are plain text",
    "",
]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return demonstration_corpus()


@pytest.fixture(scope="module")
def policy(corpus):
    return build_tiny_policy(corpus)


@pytest.fixture(scope="module")
def tokenizer(policy):
    return policy[1]


@pytest.fixture(scope="module")
def model(policy):
    return policy[0]


def chat(tokenizer, messages, tools=None, add_generation_prompt=False) -> str:
    """Render through the tokenizer, checking that it agrees with :func:`render_chat`."""
    text = render_chat(messages, tools=tools, add_generation_prompt=add_generation_prompt)
    if messages:  # transformers refuses an empty conversation; the template renders it as nothing
        kwargs = {"tools": tools, "add_generation_prompt": add_generation_prompt, "tokenize": False}
        assert tokenizer.apply_chat_template(messages, **kwargs) == text
    else:
        assert text == "" or add_generation_prompt
    return text


# ----------------------------------------------------------------------------------------------------------------
# Tokenizer


def test_special_tokens_are_single_ids(tokenizer):
    ids = [tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS]
    assert len(set(ids)) == len(SPECIAL_TOKENS)
    for token, token_id in zip(SPECIAL_TOKENS, ids, strict=True):
        assert tokenizer.encode(token) == [token_id]
        assert tokenizer.decode([token_id]) == token
    completion = '<think>\nok</think>\n<tool_call>\n{"name": "ls", "arguments": {}}\n</tool_call>'
    encoded = tokenizer.encode(f"{completion}<|im_end|><|endoftext|>")
    assert {ids[3], ids[4], ids[7], ids[8]} <= set(encoded) and encoded[-2:] == [ids[2], ids[0]]
    # As in Qwen3, ChatML's markers are special and the tags are not, so decoding a completion keeps its calls.
    assert set(SPECIAL_TOKENS[:3]) <= set(tokenizer.all_special_tokens)
    assert not set(SPECIAL_TOKENS[3:]) & set(tokenizer.all_special_tokens)
    assert tokenizer.decode(encoded, skip_special_tokens=True) == completion
    assert (
        tokenizer.decode(tokenizer.encode("<|im_start|>assistant\nok"), skip_special_tokens=True)
        == "assistant\nok"
    )


def test_tokenizer_settings(tokenizer):
    assert len(tokenizer) == 4096
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.eos_token_id == SPECIAL_TOKENS.index("<|im_end|>")
    assert tokenizer.pad_token_id == SPECIAL_TOKENS.index("<|endoftext|>")
    assert tokenizer.padding_side == "left"
    assert tokenizer.chat_template == CHAT_TEMPLATE
    # Nothing is added around an encoding: the chat template writes every marker itself.
    assert tokenizer.decode(tokenizer.encode("hi")) == "hi"
    batch = tokenizer(["a", "a much longer text"], padding=True)
    assert batch["input_ids"][0][0] == tokenizer.pad_token_id and batch["attention_mask"][0][0] == 0


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_round_trip_is_exact(tokenizer, text):
    ids = tokenizer.encode(text)
    assert all(0 <= token_id < len(tokenizer) for token_id in ids)
    assert tokenizer.decode(ids) == text
    assert tokenizer.unk_token_id is None  # byte-level: nothing is ever unknown


def test_round_trip_on_corpus(tokenizer, corpus):
    for text in corpus[:5]:
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_tokenizer_learns_the_corpus(tokenizer, corpus):
    # BPE merges from the demonstrations: frequent words are one token, and text compresses well below bytes.
    assert tokenizer.tokenize("directory") == ["directory"]
    assert len(tokenizer.encode(corpus[0])) < len(corpus[0].encode()) / 3


def test_tokenizer_is_deterministic(corpus):
    first, second = build_tokenizer(corpus[:10], vocab_size=512), build_tokenizer(corpus[:10], vocab_size=512)
    assert len(first) == 512
    assert first.get_vocab() == second.get_vocab()
    assert first.backend_tokenizer.to_str() == second.backend_tokenizer.to_str()
    assert build_tokenizer(corpus[10:20], vocab_size=512).get_vocab() != first.get_vocab()


# ----------------------------------------------------------------------------------------------------------------
# Chat template


@pytest.mark.parametrize("tools", [TOOLS, None], ids=["tools", "no-tools"])
def test_template_is_prefix_preserving(tokenizer, tools):
    renders = [chat(tokenizer, CONVERSATION[:k], tools) for k in range(len(CONVERSATION) + 1)]
    for k in range(len(CONVERSATION)):
        assert renders[k + 1].startswith(renders[k]), f"message {k} changes the render before it"
        if CONVERSATION[k]["role"] == "assistant":
            # A prompt with the generation prompt is a prefix of the conversation with the reply, in tokens too.
            prompt = chat(tokenizer, CONVERSATION[:k], tools, add_generation_prompt=True)
            assert renders[k + 1].startswith(prompt)
            prompt_ids, full_ids = tokenizer.encode(prompt), tokenizer.encode(renders[k + 1])
            assert full_ids[: len(prompt_ids)] == prompt_ids


_text = st.lists(
    st.sampled_from(["a", " ", "\n", "{", '"', "é", "👋", "<tool_call>", "<|im_end|>"]), max_size=6
).map("".join)
_call = st.fixed_dictionaries(
    {"name": st.sampled_from(["ls", "cat"]), "arguments": st.dictionaries(_text, _text, max_size=2) | _text}
)
_message = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "tool"]), "content": _text}),
    st.fixed_dictionaries(
        {"role": st.just("assistant"), "content": _text | st.none()},
        optional={
            "tool_calls": st.lists(_call | st.builds(lambda call: {"function": call}, _call), max_size=3)
        },
    ),
)


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(_message, max_size=8), tools=st.sampled_from([TOOLS, None]))
def test_template_is_prefix_preserving_for_any_conversation(messages, tools):
    previous = render_chat([], tools=tools)
    for k in range(1, len(messages) + 1):
        prompt = render_chat(messages[: k - 1], tools=tools, add_generation_prompt=True)
        current = render_chat(messages[:k], tools=tools)
        assert current.startswith(previous)
        assert current.startswith(prompt) or messages[k - 1]["role"] != "assistant"
        previous = current


def test_template_renders_the_qwen_format(tokenizer):
    text = chat(tokenizer, CONVERSATION, TOOLS)
    tool_lines = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in TOOLS)
    expected = (
        f"<|im_start|>system\nYou are terse.\n\n{TOOLS_HEADER}{tool_lines}{TOOLS_FOOTER}<|im_end|>\n"
        "<|im_start|>user\nWhat is here?<|im_end|>\n"
        '<|im_start|>assistant\nLet me look.\n<tool_call>\n{"name": "ls", "arguments": {"a": true}}\n'
        "</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\n"
        '{"current_directory_content": ["notes.txt", "文件.txt"]}\n</tool_response><|im_end|>\n'
        '<|im_start|>assistant\n<tool_call>\n{"name": "cat", "arguments": {"file_name": "notes.txt"}}\n'
        '</tool_call>\n<tool_call>\n{"name": "cat", "arguments": {"file_name": "文件.txt"}}\n'
        "</tool_call><|im_end|>\n"
        '<|im_start|>user\n<tool_response>\n{"file_content": "hello"}\n</tool_response>\n'
        '<tool_response>\n{"file_content": "👋"}\n</tool_response><|im_end|>\n'
        "<|im_start|>assistant\nTwo files: hello and 👋.<|im_end|>\n"
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nThanks!<|im_end|>\n"
        f"<|im_start|>assistant\n{TURN_DONE}<|im_end|>\n"
    )
    assert text == expected


def test_tools_go_in_the_system_block(tokenizer):
    user = [{"role": "user", "content": "hi"}]
    with_tools = chat(tokenizer, user, TOOLS, add_generation_prompt=True)
    # No system message: the tools block is the system message; HTML characters and non-ASCII stay as they are.
    assert with_tools.startswith(f"<|im_start|>system\n{TOOLS_HEADER}")
    assert with_tools.count("<|im_start|>system") == 1
    assert json.dumps(TOOLS[0]) in with_tools and "文件" in with_tools
    assert with_tools.endswith(
        f"{TOOLS_FOOTER}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    # Without tools there is no tools block; a leading system message is rendered once either way.
    assert chat(tokenizer, user) == "<|im_start|>user\nhi<|im_end|>\n"
    system = [{"role": "system", "content": "Be brief."}, *user]
    assert (
        chat(tokenizer, system) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    )
    assert chat(tokenizer, system, TOOLS).count("Be brief.") == 1


def test_generation_prompt_closes_a_tool_block(tokenizer):
    messages = [{"role": "user", "content": "hi"}, {"role": "tool", "content": "42"}]
    assert chat(tokenizer, messages).endswith("<tool_response>\n42\n</tool_response>")
    assert chat(tokenizer, messages, add_generation_prompt=True).endswith(
        "<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    )


# ----------------------------------------------------------------------------------------------------------------
# Demonstration corpus


def test_demonstration_corpus(corpus, tokenizer):
    assert len(corpus) == 53  # FileSystem-v0's bundled tasks
    for text in corpus:
        assert text.startswith(f"<|im_start|>system\n{TOOLS_HEADER}")
        assert text.endswith((f"{TURN_DONE}<|im_end|>\n", f"{TURN_DECLINED}<|im_end|>\n"))
        assert "<|im_start|>user\n<tool_response>\n" in text
    assert any("<|im_start|>assistant\n<tool_call>\n{" in text for text in corpus)
    # The longest conversation fits in the model's positions (the module docstring gives the figure).
    longest = max(len(tokenizer.encode(text)) for text in corpus)
    assert longest < tiny_qwen3_config(len(tokenizer)).max_position_embeddings


# ----------------------------------------------------------------------------------------------------------------
# Model


def test_config_and_model(model, tokenizer):
    config = model.config
    assert isinstance(model, transformers.Qwen3ForCausalLM)
    assert (config.vocab_size, config.hidden_size, config.num_hidden_layers) == (len(tokenizer), 128, 2)
    assert (config.num_attention_heads, config.num_key_value_heads, config.head_dim) == (4, 2, 32)
    assert (config.intermediate_size, config.max_position_embeddings) == (384, 8192)
    assert config.eos_token_id == tokenizer.eos_token_id and config.pad_token_id == tokenizer.pad_token_id
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id
    assert config.tie_word_embeddings and model.lm_head.weight is model.model.embed_tokens.weight
    assert all(parameter.dtype == torch.float32 for parameter in model.parameters())


def test_config_overrides():
    model, tokenizer = build_tiny_policy(
        ROUND_TRIP_TEXTS, vocab_size=300, hidden_size=64, num_hidden_layers=1
    )
    assert len(tokenizer) == 300
    assert (model.config.hidden_size, model.config.num_hidden_layers, model.config.vocab_size) == (64, 1, 300)


def test_policy_is_deterministic(corpus, model, tokenizer):
    rng_state = torch.get_rng_state()
    again, again_tokenizer = build_tiny_policy(corpus, seed=0)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the caller's RNG is left alone
    assert again_tokenizer.get_vocab() == tokenizer.get_vocab()
    state, again_state = model.state_dict(), again.state_dict()
    assert state.keys() == again_state.keys()
    assert all(torch.equal(state[name], again_state[name]) for name in state)
    other, _ = build_tiny_policy(corpus, seed=1)
    assert not torch.equal(other.model.embed_tokens.weight, model.model.embed_tokens.weight)


def test_forward_and_generate(model, tokenizer):
    messages = [{"role": "user", "content": "List the files."}]
    prompts = [
        chat(tokenizer, messages, TOOLS[:1], add_generation_prompt=True),
        chat(tokenizer, messages, add_generation_prompt=True),
    ]
    batch = tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.no_grad():
        output = model(**batch, labels=batch["input_ids"])
    assert output.logits.shape == (2, batch["input_ids"].shape[1], len(tokenizer))
    assert torch.isfinite(output.loss) and 5 < output.loss.item() < 10  # about ln(4096) before training

    torch.manual_seed(0)
    generated = model.generate(**batch, max_new_tokens=6, do_sample=True)
    new_tokens = generated[:, batch["input_ids"].shape[1] :]
    assert generated.shape[0] == 2 and 1 <= new_tokens.shape[1] <= 6
    assert torch.equal(generated[:, : batch["input_ids"].shape[1]], batch["input_ids"])
    assert isinstance(tokenizer.batch_decode(new_tokens, skip_special_tokens=True)[0], str)


def test_left_padding_does_not_change_generation(model, tokenizer):
    short = chat(tokenizer, [{"role": "user", "content": "hi"}], add_generation_prompt=True)
    long = chat(tokenizer, [{"role": "user", "content": "hi"}], TOOLS, add_generation_prompt=True)
    kwargs = {"max_new_tokens": 3, "do_sample": False, "output_logits": True, "return_dict_in_generate": True}
    alone = model.generate(**tokenizer([short], return_tensors="pt"), **kwargs)
    padded = model.generate(**tokenizer([short, long], return_tensors="pt", padding=True), **kwargs)
    torch.testing.assert_close(padded.logits[0][0], alone.logits[0][0], atol=1e-4, rtol=1e-4)


def test_save_and_load(tmp_path, model, tokenizer):
    directory = save_tiny_policy(model, tokenizer, tmp_path / "tiny")
    loaded_tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(directory)

    assert loaded_tokenizer.chat_template == CHAT_TEMPLATE
    assert loaded_tokenizer.get_vocab() == tokenizer.get_vocab()
    assert (loaded_tokenizer.eos_token, loaded_tokenizer.pad_token) == ("<|im_end|>", "<|endoftext|>")
    assert loaded_tokenizer.padding_side == "left"
    assert set(loaded_tokenizer.all_special_tokens) == set(tokenizer.all_special_tokens)
    completion = tokenizer.encode('<tool_call>\n{"name": "ls"}\n</tool_call><|im_end|>')
    assert (
        loaded_tokenizer.decode(completion, skip_special_tokens=True)
        == '<tool_call>\n{"name": "ls"}\n</tool_call>'
    )
    for text in ROUND_TRIP_TEXTS:
        assert loaded_tokenizer.encode(text) == tokenizer.encode(text)
        assert loaded_tokenizer.decode(tokenizer.encode(text)) == text
    rendered = loaded_tokenizer.apply_chat_template(CONVERSATION, tools=TOOLS, tokenize=False)
    assert rendered == render_chat(CONVERSATION, tools=TOOLS)

    assert isinstance(loaded, transformers.Qwen3ForCausalLM)
    assert loaded.generation_config.eos_token_id == tokenizer.eos_token_id
    assert loaded.generation_config.pad_token_id == tokenizer.pad_token_id
    state = model.state_dict()
    assert all(torch.equal(tensor, state[name]) for name, tensor in loaded.state_dict().items())
    ids = torch.tensor([tokenizer.encode(rendered)[:64]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits)
