"""Model text -> tool calls: every accepted format, replies, errors, hostile inputs, and properties."""

from __future__ import annotations

import ast
import builtins
import contextlib
import doctest
import json
import keyword
import os
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envtune_gym import actions
from envtune_gym.actions import (
    ACCEPTED_FORMATS,
    ActionLimits,
    ActionParseError,
    ParsedAction,
    ToolCall,
    format_call,
    parse_action,
    parse_python_calls,
)

DEFAULT = ActionLimits()
BIG = ActionLimits(max_length=20_000_000)


def calls_of(text: str, limits: ActionLimits = DEFAULT) -> list[tuple[str, tuple, dict]]:
    parsed = parse_action(text, limits)
    assert parsed.error is None, parsed.error
    return [(call.name, call.args, call.kwargs) for call in parsed.calls]


def error_of(text: str, limits: ActionLimits = DEFAULT) -> tuple[str, str]:
    parsed = parse_action(text, limits)
    assert parsed.error is not None, parsed
    assert parsed.calls == () and parsed.format == "invalid"
    return parsed.error.category, parsed.error.message


def format_error(text: str, limits: ActionLimits = DEFAULT) -> str:
    category, message = error_of(text, limits)
    assert category == "format"
    assert ACCEPTED_FORMATS in message  # every format error shows the accepted formats
    return message


def assert_reply(text: str, reply: str | None = None) -> None:
    parsed = parse_action(text)
    assert parsed.is_reply and parsed.format == "reply" and parsed.calls == ()
    if reply is not None:
        assert parsed.reply == reply


# ----------------------------------------------------------------------------------------------------------------
# Hermes / Qwen <tool_call> blocks


def test_hermes_single_and_multiple_blocks():
    text = (
        'I will look.\n<tool_call>\n{"name": "cd", "arguments": {"folder": "docs"}}\n</tool_call>\n'
        '<tool_call>{"name": "ls", "arguments": {"a": true}}</tool_call> trailing text'
    )
    parsed = parse_action(text)
    assert parsed.format == "hermes" and not parsed.is_reply
    assert calls_of(text) == [("cd", (), {"folder": "docs"}), ("ls", (), {"a": True})]


def test_hermes_missing_closing_tag_on_last_block_and_between_blocks():
    assert calls_of('<tool_call>{"name": "pwd", "arguments": {}}') == [("pwd", (), {})]
    text = '<tool_call>{"name": "a"}\n<tool_call>{"name": "b"}</tool_call>'
    assert calls_of(text) == [("a", (), {}), ("b", (), {})]


def test_hermes_list_in_one_block_string_arguments_alias_and_wrapper():
    text = (
        '<tool_call>[{"name": "cd", "arguments": "{\\"folder\\": \\"x\\"}"}, '
        '{"name": "mkdir", "parameters": {"dir_name": "y"}}, {"name": "pwd"}, '
        '{"name": "rm", "arguments": ""}, {"name": "ls", "arguments": null}, '
        '{"type": "function", "function": {"name": "touch", "arguments": {"file_name": "f"}}}]</tool_call>'
    )
    assert calls_of(text) == [
        ("cd", (), {"folder": "x"}),
        ("mkdir", (), {"dir_name": "y"}),
        ("pwd", (), {}),
        ("rm", (), {}),
        ("ls", (), {}),
        ("touch", (), {"file_name": "f"}),
    ]


def test_hermes_fenced_content_and_nested_values():
    text = '<tool_call>```json\n{"name": "f", "arguments": {"x": [1, {"y": [-2.5, null]}]}}\n```</tool_call>'
    assert calls_of(text) == [("f", (), {"x": [1, {"y": [-2.5, None]}]})]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('<tool_call>{"name": "ls", "arguments": {"a": tru}}</tool_call>', "not valid JSON"),
        ("<tool_call>{'name': 'ls'}</tool_call>", "not valid JSON"),
        ("<tool_call>ls(a=True)</tool_call>", "not valid JSON"),
        ("<tool_call>  </tool_call>", "is empty"),
        ("<tool_call>[]</tool_call>", "empty list"),
        ('<tool_call>{"arguments": {}}</tool_call>', '"name" must be the tool name'),
        ('<tool_call>{"name": 3}</tool_call>', '"name" must be the tool name'),
        ('<tool_call>{"name": "ls", "a": true}</tool_call>', "unexpected key(s) ['a']"),
        ('<tool_call>{"name": "ls", "arguments": [1]}</tool_call>', '"arguments" must be an object'),
        ('<tool_call>{"name": "ls", "arguments": "{oops"}</tool_call>', "not valid JSON"),
        ('<tool_call>{"name": "ls", "arguments": {}, "parameters": {}}</tool_call>', "not both"),
        ('<tool_call>{"name": "ls", "arguments": {"not valid": 1}}</tool_call>', "not a valid identifier"),
        ('<tool_call>{"name": "ls", "arguments": {"a": NaN}}</tool_call>', "finite"),
        ('<tool_call>{"name": "ls", "arguments": {"a": 1e999}}</tool_call>', "finite"),
        ('<tool_call>{"name": "ls", "arguments": {"a": -Infinity}}</tool_call>', "finite"),
        ("<tool_call>[1]</tool_call>", "expected a call object"),
    ],
)
def test_hermes_errors(text: str, fragment: str):
    message = format_error(text)
    assert fragment in message
    assert "<tool_call>" in message  # shows the expected shape


def test_hermes_invalid_json_message_points_at_the_problem():
    message = format_error('<tool_call>{"name": "ls", "arguments": {"a": tru}}</tool_call>')
    assert "block 1" in message and "line 1, column" in message and "tru" in message


def test_hermes_block_errors_stop_the_whole_action():
    text = '<tool_call>{"name": "ls"}</tool_call><tool_call>{bad</tool_call>'
    assert "block 2" in format_error(text)


# ----------------------------------------------------------------------------------------------------------------
# Bare JSON


def test_bare_json_object_list_and_fences():
    assert calls_of('{"name": "ls", "arguments": {"a": true}}') == [("ls", (), {"a": True})]
    assert parse_action('{"name": "ls"}').format == "json"
    text = '```json\n[{"name": "cd", "arguments": {"folder": "d"}}, {"name": "ls"}]\n```'
    assert calls_of(text) == [("cd", (), {"folder": "d"}), ("ls", (), {})]
    assert calls_of('  \n```\n{"name": "pwd", "arguments": "{}"}\n```  ') == [("pwd", (), {})]


@pytest.mark.parametrize(
    "text", ['{"answer": 42}', "[1, 2, 3]", "[]", "{}", '[{"city": "Paris"}]', "[1, 2", "{not json}", "[[1]]"]
)
def test_json_that_is_not_a_call_is_a_reply(text: str):
    assert_reply(text, text)


def test_malformed_json_call_and_mixed_list_are_errors():
    assert "not valid JSON" in format_error('{"name": "ls", "arguments": {"a": }}')
    assert "call 2" in format_error('[{"name": "ls"}, {"city": "Paris"}]')


# ----------------------------------------------------------------------------------------------------------------
# BFCL's Python syntax


def test_python_call_list_and_single_call():
    assert calls_of("[cd(folder='docs'), ls(a=True)]") == [
        ("cd", (), {"folder": "docs"}),
        ("ls", (), {"a": True}),
    ]
    assert parse_action("[cd(folder='docs')]").format == "python"
    assert calls_of("ls(a=True)") == [("ls", (), {"a": True})]
    assert calls_of("ls()") == [("ls", (), {})]
    assert calls_of("cd(folder='a'), ls()") == [("cd", (), {"folder": "a"}), ("ls", (), {})]
    assert calls_of("[\n  cd(folder='a'),\n  ls()\n]") == [("cd", (), {"folder": "a"}), ("ls", (), {})]


def test_python_positional_arguments_and_literals():
    text = "[mv('a.txt', 'b.txt', overwrite=False), f(-1, +2, -3.5, 1e-3, None, True, 'it\\'s', \"q\")]"
    assert calls_of(text) == [
        ("mv", ("a.txt", "b.txt"), {"overwrite": False}),
        ("f", (-1, 2, -3.5, 0.001, None, True, "it's", "q"), {}),
    ]


def test_python_nested_values_and_tuples_become_lists():
    text = "[f(a=[1, [2, [3]]], b={'k': {'n': (1, 2)}, 3: -4}, c=(), d=('x',))]"
    assert calls_of(text) == [
        ("f", (), {"a": [1, [2, [3]]], "b": {"k": {"n": [1, 2]}, 3: -4}, "c": [], "d": ["x"]})
    ]


def test_python_strings_are_never_rewritten():
    text = "[echo(content='run ls(a=True) and [x] {y} \"z\" # not a comment')]"
    assert calls_of(text) == [("echo", (), {"content": 'run ls(a=True) and [x] {y} "z" # not a comment'})]


@pytest.mark.parametrize(
    "text",
    [
        "```python\n[ls(a=True)]\n```",
        "```\nls(a=True)\n```",
        "`ls(a=True)`",
        "```[ls(a=True)]```",
        "\n\n ls(a=True) \n",
    ],
)
def test_python_fences(text: str):
    assert calls_of(text) == [("ls", (), {"a": True})]


def test_tool_call_tag_inside_a_python_string_is_not_a_block():
    text = "[echo(content='<tool_call>{\\'name\\': \\'rm\\'}</tool_call>')]"
    assert calls_of(text) == [("echo", (), {"content": "<tool_call>{'name': 'rm'}</tool_call>"})]
    # but a block after something that is not a whole Python call is a block (text outside blocks is ignored)
    assert calls_of('[ls()] then <tool_call>{"name": "cd"}</tool_call>') == [("cd", (), {})]


def test_invalid_escapes_in_strings_emit_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert calls_of("[grep(pattern='\\d+\\.txt')]") == [("grep", (), {"pattern": "\\d+\\.txt"})]


def test_private_names_are_returned_for_the_registry_to_refuse():
    assert calls_of("[_secret(), __init__(x=1)]") == [("_secret", (), {}), ("__init__", (), {"x": 1})]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[os.system('echo pwned')]", "Only plain tool names"),
        ("x.y()", "Only plain tool names"),
        ("[ls()[0]()]", "Only plain tool names"),
        ("[f()()]", "Only plain tool names"),
        ("[ls(), 1]", "Expected a tool call"),
        ("[ls(a=b)]", "argument 'a' is 'b', which is not a literal"),
        ("[ls(a=1+1)]", "not a literal"),
        ("[ls(a=len('x'))]", "not a literal"),
        ("[ls(a=lambda: 1)]", "not a literal"),
        ("[ls(a=[i for i in 'ab'])]", "not a literal"),
        ("[ls(a=f'{x}')]", "not a literal"),
        ("[ls(a={1, 2})]", "not a literal"),
        ("[ls(a=b'x')]", "not a literal"),
        ("[ls(a=1j)]", "not a literal"),
        ("[ls(a=...)]", "not a literal"),
        ("[ls(a=--1)]", "not a literal"),
        ("[ls(a=-True)]", "not a literal"),
        ("[ls(a=not 1)]", "not a literal"),
        ("[ls(a=(yield))]", "not a literal"),
        ("[ls('x', b)]", "positional argument 2 is 'b'"),
        ("[ls(*args)]", "*unpacking"),
        ("[ls(**kw)]", "**unpacking"),
        ("[ls(a={**d})]", "**unpacking inside a dict"),
        ("[ls(a={(1,): 2})]", "dict keys"),
        ("[ls(a=1, a=2)]", "given more than once"),
        ("[ls(a=1, 2)]", "Could not parse"),
        ("[ls(a=True]", "Could not parse"),
        ("[ls(a=1e999)]", "finite"),
    ],
)
def test_python_errors(text: str, fragment: str):
    assert fragment in format_error(text)


def test_parse_python_calls_raises_action_parse_error():
    with pytest.raises(ActionParseError) as info:
        parse_python_calls("[ls(a=b)]")
    assert info.value.category == "format" and "literal" in info.value.message
    assert isinstance(info.value, ValueError)
    assert parse_python_calls("```python\n[ls()]\n```") == [ToolCall("ls")]


# ----------------------------------------------------------------------------------------------------------------
# Thinking and replies


def test_think_blocks_are_removed():
    assert calls_of("<think>use ls(a=True)? [x()]</think>\n[ls()]") == [("ls", (), {})]
    assert calls_of('reasoning ...</think><tool_call>{"name": "pwd"}</tool_call>') == [("pwd", (), {})]
    parsed = parse_action("<think>a</think>\n <think>b</think>Hello <think>c</think>")
    assert parsed.is_reply and parsed.reply == "Hello <think>c</think>"  # only leading thinking is removed
    assert (
        parse_action('<think>\n<tool_call>{"name": "rm"}</tool_call>\n</think>All done.').reply == "All done."
    )


def test_think_tags_inside_arguments_are_kept():
    text = "<think>x</think>[echo(content='<think>not mine</think>')]"
    assert calls_of(text) == [("echo", (), {"content": "<think>not mine</think>"})]
    # a </think> before any <think> always ends the thinking, even inside a string (the template opened it)
    assert parse_action("[echo(content='</think>')]").is_reply


def test_unclosed_think_means_everything_is_thinking():
    parsed = parse_action("<think>I should call [ls()] but")
    assert parsed.is_reply and parsed.reply == "" and parsed.calls == ()
    assert parse_action("  \n<think>").reply == ""
    assert parse_action("Answer. <think>more").reply == "Answer. <think>more"


@pytest.mark.parametrize(
    "text",
    [
        "The file is in /docs.",
        "",
        "   ",
        "Done (all files moved).",
        "I will call ls(a=True) next.",
        "ls(a=True) lists hidden files.",
        "[1] First point. [2] Second (see above)",
        "[see here](http://x.y)",
        "You can use os.system but I won't.",
        "Sure!\n```python\nprint('hi')\n``` is how you print.",
    ],
)
def test_replies(text: str):
    assert_reply(text, text.strip())


def test_mixed_text_and_python_call_is_a_reply():
    # only Hermes blocks may be surrounded by text; a prose-wrapped Python call is the agent talking
    assert_reply("Let me check: [ls(a=True)]")


# ----------------------------------------------------------------------------------------------------------------
# Limits


def test_too_long_is_checked_before_parsing():
    category, message = error_of("[ls(a=True)]" + " " * 100, ActionLimits(max_length=50))
    assert category == "too_long" and "112" in message and "50" in message
    assert error_of("x" * 65_537)[0] == "too_long"
    assert parse_action("x" * 65_536).is_reply


@pytest.mark.parametrize(
    "text",
    [
        "[" + ", ".join(["ls(a=1)"] * 65) + "]",
        ", ".join(["ls()"] * 65),
        "[" + ", ".join(['{"name": "ls"}'] * 65) + "]",
        "<tool_call>[" + ", ".join(['{"name": "ls"}'] * 65) + "]</tool_call>",
        '<tool_call>{"name": "ls"}</tool_call>' * 65,
    ],
)
def test_too_many_calls(text: str):
    category, message = error_of(text)
    assert category == "too_many_calls" and "64" in message  # the limit is named
    assert len(calls_of(text, ActionLimits(max_calls=65))) == 65


def test_call_count_guard_ignores_tuples_and_nested_calls():
    one = ActionLimits(max_calls=1)
    assert len(calls_of("ls(a=(1, 2), b=(3, 4), c=((5,),))", one)) == 1
    assert len(calls_of("[ls(a=(1, 2), b=(3, 4), c=((5,),))]", one)) == 1
    category, message = error_of("[" + "ls(), " * 1000 + "]")
    assert category == "too_many_calls" and "More than 64" in message
    category, message = error_of("[" + "ls(a=[1]), " * 1000 + "]")  # not flat: the cheap guard before ast
    assert category == "too_many_calls" and "More than 64" in message


def test_too_many_calls_small_limit():
    assert error_of("ls(), ls(), ls()", ActionLimits(max_calls=2))[0] == "too_many_calls"
    assert len(calls_of("ls(), ls()", ActionLimits(max_calls=2))) == 2
    assert error_of('[{"name": "a"}, {"name": "b"}]', ActionLimits(max_calls=1))[0] == "too_many_calls"


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize("max_depth", [1, 3, 32])
def test_max_depth_is_exact_for_every_format(max_depth: int):
    limits = ActionLimits(max_depth=max_depth)
    ok, deep = nested(max_depth), nested(max_depth + 1)
    assert calls_of(f"[f(a={ok})]", limits) == [("f", (), {"a": json.loads(ok)})]
    assert calls_of(f"f({ok})", limits)
    assert calls_of(f'<tool_call>{{"name": "f", "arguments": {{"a": {ok}}}}}</tool_call>', limits)
    assert calls_of(f'{{"name": "f", "arguments": {json.dumps(json.dumps({"a": json.loads(ok)}))}}}', limits)
    for text in (
        f"[f(a={deep})]",
        f"f({deep})",
        f"[f(a={{'k': {deep}}})]",
        f'<tool_call>{{"name": "f", "arguments": {{"a": {deep}}}}}</tool_call>',
        f'{{"name": "f", "arguments": {json.dumps(json.dumps({"a": json.loads(deep)}))}}}',
    ):
        assert "nest" in format_error(text, limits), text


def test_limits_validate():
    ActionLimits().validate()
    for bad in ({"max_length": 0}, {"max_calls": -1}, {"max_depth": 1.5}, {"max_calls": True}):
        with pytest.raises(ValueError):
            ActionLimits(**bad)
        with pytest.raises(ValueError):
            parse_action("ls()", ActionLimits(**bad))


# ----------------------------------------------------------------------------------------------------------------
# Hostile inputs: nothing ever runs


@contextlib.contextmanager
def nothing_may_run() -> Iterator[list[str]]:
    """Make every way to run code fail loudly while the block parses; ``compile`` may only build ASTs."""
    ran: list[str] = []

    def forbid(name: str) -> Callable[..., None]:
        def sentinel(*args: Any, **kwargs: Any) -> None:
            ran.append(name)
            raise AssertionError(f"{name} was called")

        return sentinel

    real_compile = builtins.compile

    def ast_only_compile(
        source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kwargs: Any
    ) -> Any:
        if not flags & ast.PyCF_ONLY_AST:
            ran.append("compile")
            raise AssertionError("compile to bytecode")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    patches = {
        name: forbid(name) for name in ("eval", "exec", "open", "print", "input", "__import__", "breakpoint")
    }
    with (
        mock.patch.multiple(builtins, compile=ast_only_compile, **patches),
        mock.patch.object(os, "system", forbid("os.system")),
        mock.patch.object(subprocess, "Popen", forbid("Popen")),
    ):
        yield ran


HOSTILE = [
    "[__import__('os').system('touch {marker}')]",
    "__import__('os').system('touch {marker}')",
    "[ls(a=open('/etc/passwd').read())]",
    "[ls(a=1+len([print('x')]))]",
    "[ls(a=0+len([print('x')]))]",
    "[ls(a=(lambda: print('x'))())]",
    "[ls(a=lambda: print('x'))]",
    "[ls(a=f\"{{print('x')}}\")]",
    "[ls(a=[print(i) for i in range(3)])]",
    "[getattr(ls, '__globals__')['os'].system('id')]",
    "[ls.__class__.__base__.__subclasses__()]",
    "[eval('1')()]",
    "[ls(a=exec('x'))]",
    "[ls(**{{'a': print('x')}})]",
    "[ls(a=__import__('os').system('touch {marker}'))]",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_python_never_runs(template: str, tmp_path: Path):
    marker = tmp_path / "pwned"
    text = template.format(marker=marker)
    with nothing_may_run() as ran:
        parsed = parse_action(text)
    assert ran == [] and not marker.exists()
    assert parsed.calls == () and parsed.error is not None and parsed.error.category == "format"
    assert any(
        part in parsed.error.message for part in ("Only plain tool names", "not a literal", "unpacking")
    )


def test_hostile_messages():
    assert "Only plain tool names" in format_error("[__import__('os').system('echo pwned')]")
    message = format_error("[ls(a=1+len([print('x')]))]")
    assert "argument 'a' is" in message and "len([print(" in message and "which is not a literal" in message


def test_exec_and_eval_are_just_names():
    with nothing_may_run() as ran:
        parsed = parse_action("[exec('x'), eval('1+1'), compile('x', 'f', 'exec')]")
        crafted = parse_action('<tool_call>{"name": "exec(\'print(1)\') or ls", "arguments": {}}</tool_call>')
    assert ran == []
    assert [(c.name, c.args) for c in parsed.calls] == [
        ("exec", ("x",)),
        ("eval", ("1+1",)),
        ("compile", ("x", "f", "exec")),
    ]
    assert crafted.calls == (
        ToolCall("exec('print(1)') or ls"),
    )  # an unknown tool name, refused by the registry


def test_deep_nesting_does_not_recurse():
    for text in (nested(100_000), "[ls(a=" + nested(100_000) + ")]", "{" * 100_000, "f(" * 100_000 + ")"):
        assert "nest" in format_error(text, BIG)
    assert error_of(nested(100_000))[0] == "too_long"
    deep_args = '{"name": "f", "arguments": "' + "[" * 100_000 + '"}'
    assert "nest" in format_error(deep_args, BIG)
    assert format_error("[ls(a=" + "-" * 100_000 + "1)]", BIG)  # deep unary chain without brackets


def test_many_unary_operators_and_binops_do_not_crash():
    for text in ("[ls(a=" + "+".join(["1"] * 50_000) + ")]", "[ls(a=" + "not " * 50_000 + "1)]"):
        assert format_error(text, BIG)


def test_huge_integers_are_refused_gracefully():
    big = "9" * 5_000
    for text in (
        f"[ls(a={big})]",
        f"[ls(a=-{big})]",
        f"[ls(a=0x{'f' * 5_000})]",
        f'<tool_call>{{"name": "ls", "arguments": {{"a": {big}}}}}</tool_call>',
        f'{{"name": "ls", "arguments": {{"a": -{big}}}}}',
    ):
        assert "4300 digits" in format_error(text)
    assert calls_of(f"[ls(a={'9' * 4300})]") == [("ls", (), {"a": int("9" * 4300)})]


def test_odd_characters_never_raise():
    for text in (
        "[ls(a='\x00')]",
        "ls(a='\ud800')",
        "[ls(a=1)]\x00",
        "\ud800",
        '{"name": "\ud800"}',
        "\x00" * 10,
    ):
        assert isinstance(parse_action(text), ParsedAction)


TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize(
    "unit",
    [
        "All good. ",
        "[",
        "[]",
        "(",
        "<tool_call>",
        "</tool_call>",
        "<think>",
        "</think>",
        '"\\',
        "'\\",
        "'''",
        "```",
        "a",
        "a.",
        " ",
        "\n",
        "#",
    ],
)
def test_ten_megabytes_are_refused_or_parsed(unit: str):
    text = unit * (TEN_MB // len(unit))
    assert error_of(text)[0] == "too_long"
    assert isinstance(parse_action(text, BIG), ParsedAction)


def test_ten_megabyte_call_list_is_refused_as_too_many_calls():
    text = "[" + "ls(a=1), " * (TEN_MB // 9) + "]"
    assert error_of(text, BIG)[0] == "too_many_calls"
    for json_text in (
        "[" + '{"name": "ls"}, ' * (TEN_MB // 16) + "]",
        "<tool_call>[" + '{"name": "ls"}, ' * (TEN_MB // 16),
    ):
        assert error_of(json_text, BIG)[0] in ("too_many_calls", "format")


def test_module_source_has_no_eval_exec_compile_or_literal_eval():
    tree = ast.parse(Path(actions.__file__).read_text())
    forbidden = {"eval", "exec", "compile", "literal_eval", "__import__", "execfile"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not names & forbidden and "literal_eval" not in attributes
    assert attributes & {"compile", "parse"} == {"compile", "parse"}  # re.compile and ast.parse only


# ----------------------------------------------------------------------------------------------------------------
# format_call, doctests and properties


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[ｌｓ()]", [("ｌｓ", (), {})]),  # fullwidth: a call to a tool that does not exist, not a reply
        ("ｌｓ()", [("ｌｓ", (), {})]),
        ("[cd(folder='x'), ｌｓ()]", [("cd", (), {"folder": "x"}), ("ｌｓ", (), {})]),  # not ls
        ("[ls(ａ=True)]", [("ls", (), {"ａ": True})]),  # not a=True
        ("[ls(ａ = True, a=False)]", [("ls", (), {"ａ": True, "a": False})]),  # two names, no duplicate
        ("[ｉｆ(ｘ=[{'k': 1}])]", [("ｉｆ", (), {"ｘ": [{"k": 1}]})]),  # not the keyword if
        ("[ls(a=1), ｐｗｄ()]", [("ls", (), {"a": 1}), ("ｐｗｄ", (), {})]),
        ("[echo(content='ｌｓ(ａ=1)')]", [("echo", (), {"content": "ｌｓ(ａ=1)"})]),  # strings are data
        (  # names on later lines, after other non-ASCII text and every kind of line break
            "[echo(content='é'),\r\n ｌｓ(\n  ａ=[1],\r ｂ=2), ｇ(ｙ\\\n=1)]",
            [("echo", (), {"content": "é"}), ("ｌｓ", (), {"ａ": [1], "ｂ": 2}), ("ｇ", (), {"ｙ": 1})],
        ),
        ('<tool_call>{"name": "ｌｓ", "arguments": {"ａ": true}}</tool_call>', [("ｌｓ", (), {"ａ": True})]),
    ],
)
def test_names_are_read_exactly_as_written_never_nfkc_normalised(text: str, expected: list) -> None:
    assert calls_of(text) == expected


def test_format_call():
    assert format_call(ToolCall("ls")) == "ls()"
    call = ToolCall("mv", ("a.txt",), {"destination": "d", "n": -1, "x": [1.5, None], "y": {"k": True}})
    assert format_call(call) == "mv('a.txt', destination='d', n=-1, x=[1.5, None], y={'k': True})"
    assert parse_python_calls(format_call(call)) == [call]


def test_doctests():
    result = doctest.testmod(actions, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


def plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(plain(item) for item in value)
    if isinstance(value, dict):
        return all(plain(k) and plain(v) for k, v in value.items())
    return type(value) in (str, int, float, bool, type(None))


def check_invariants(parsed: ParsedAction) -> None:
    assert isinstance(parsed, ParsedAction) and isinstance(parsed.reply, str)
    if parsed.error is not None:
        assert parsed.calls == () and parsed.format == "invalid" and not parsed.is_reply
        assert parsed.error.category in ("format", "too_long", "too_many_calls") and parsed.error.message
        return
    assert parsed.is_reply == (parsed.format == "reply") == (parsed.calls == ())
    for call in parsed.calls:
        assert isinstance(call.name, str) and call.name
        assert isinstance(call.args, tuple) and all(plain(a) for a in call.args)
        assert all(isinstance(k, str) and k.isidentifier() and plain(v) for k, v in call.kwargs.items())


FRAGMENTS = [
    "[", "]", "(", ")", "{", "}", "ls", "cd", "os.system", "__import__", "=", ",", "'", '"', '"""', "\\",
    "\n", " ", "1", "-", "+", ".5", "1e999", "9" * 30, "True", "None", "lambda x: x", "f'{x}'", "*", "**",
    ":", "<tool_call>", "</tool_call>", "<think>", "</think>", "```", "```json\n", '"name"', '"arguments"',
    '"ls"', "#", "\x00", "a=", "0x", "NaN", "null", "true",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_parse_action_never_raises_on_any_text(text: str):
    check_invariants(parse_action(text))
    check_invariants(parse_action(text, ActionLimits(max_length=100, max_calls=1, max_depth=1)))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join))
def test_parse_action_never_raises_on_call_like_text(text: str):
    check_invariants(parse_action(text))
    check_invariants(parse_action("[ls(a=" + text + ")]"))
    check_invariants(parse_action('<tool_call>{"name": "ls", "arguments": ' + text))


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s) and s != "__debug__"
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
tool_calls = st.builds(
    ToolCall, names, st.lists(values, max_size=3).map(tuple), st.dictionaries(names, values, max_size=3)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(tool_calls, min_size=1, max_size=4))
def test_format_call_round_trips(calls: list[ToolCall]):
    for call in calls:
        assert parse_python_calls(format_call(call)) == [call]
    text = "[" + ", ".join(format_call(call) for call in calls) + "]"
    if "</think>" in text:  # a </think> before any <think> ends the thinking, wherever it is
        return
    parsed = parse_action(text, ActionLimits(max_length=10**7))
    assert parsed.error is None and parsed.format == "python" and list(parsed.calls) == calls


def test_python_calls_parse_concurrently_from_threads(monkeypatch):
    """CPython 3.11's AST conversion is not thread-safe (a threaded eval once died with a SystemError), so every
    parse holds one lock; threads then parse correctly side by side."""
    from concurrent.futures import ThreadPoolExecutor

    real_parse = actions.ast.parse

    def parse_holding_the_lock(*args, **kwargs):
        assert actions._PARSE_LOCK.locked()
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(actions.ast, "parse", parse_holding_the_lock)
    nested = "[f(a=[[1, [2, {'k': (3, [4])}]]], b='g'), h(x={'y': [1, 2, [3, [4, [5]]]]})]"

    def parse_many(_: int) -> int:
        return sum(len(parse_action(nested).calls) for _ in range(300))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(parse_many, range(8))) == [600] * 8
