"""The flat-call fast path gives exactly what the ast parser gives, on every text it accepts."""

from __future__ import annotations

import keyword
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envtune_gym import actions
from envtune_gym.flat_calls import parse_flat_calls


def ast_path(code: str):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(actions, "parse_flat_calls", lambda code, stop_after=None: None)
        return actions._python_calls(code, 32, None)


def typed(value):
    return (type(value).__name__, repr(value))


def as_tuples(calls):
    return [(c.name, tuple(map(typed, c.args)), {k: typed(v) for k, v in c.kwargs.items()}) for c in calls]


def flat_as_tuples(flat):
    return [
        (name, tuple(map(typed, args)), {k: typed(v) for k, v in kwargs.items()})
        for name, args, kwargs in flat
    ]


names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
    st.sampled_from(keyword.kwlist),
    st.sampled_from(["ｌｓ", "ａ", "lｓ", "ｉｆ", "café", "ℌ"]),  # names Python's parser NFKC-normalises
)
# "\f" is whitespace to Python; "\u3000", "\xa0" and "\v" are whitespace to re's \s but not to Python.
spaces = st.sampled_from(["", " ", "  ", "\n", "\t", "\f", "\u3000", "\xa0", "\v"])
# Bodies mix arbitrary text with escapes, simple ones (which the fast path decodes) and others (which it leaves).
bodies = st.lists(
    st.one_of(
        st.text(max_size=6), st.sampled_from(["\\n", "\\t", "\\\\", "\\'", '\\"', "\\x41", "\\z", "\\"])
    ),
    max_size=4,
).map("".join)
quoted = st.builds(lambda quote, body: quote + body + quote, st.sampled_from(["'", '"']), bodies)
scalars = st.one_of(
    quoted,
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(
        ["True", "False", "None", "-0", "-0.0", "1e99", "1e999", "012", "1_0", "+1", "1.", ".5", "0x1F"]
    ),
)
scalar_lists = st.builds(
    lambda items, space, trailing: "[" + ("," + space).join(items) + trailing + "]",
    st.lists(scalars, max_size=4),
    spaces,
    st.sampled_from(["", ","]),
)
literals = st.one_of(scalars, scalar_lists, st.sampled_from(["[[1]]", "[1 2]", "{'k': 1}", "[,]", "()"]))
arguments = st.lists(st.tuples(st.one_of(st.none(), names), spaces, literals), max_size=4)


@st.composite
def call_texts(draw):
    calls = []
    for _ in range(draw(st.integers(1, 3))):
        parts = []
        for name, space, value in draw(arguments):
            parts.append(f"{name}{space}={space}{value}" if name else value)
        calls.append(f"{draw(names)}({draw(spaces)}{(',' + draw(spaces)).join(parts)}{draw(spaces)})")
    body = ("," + draw(spaces)).join(calls) + draw(st.sampled_from(["", ","]))
    return f"[{body}]" if draw(st.booleans()) else body


@settings(max_examples=int(os.environ.get("FLAT_CALLS_EXAMPLES", "600")), deadline=None)
@given(call_texts())
def test_fast_path_agrees_with_ast_whenever_it_answers(code):
    flat = parse_flat_calls(code)
    if flat is None:
        return
    assert as_tuples(ast_path(code)) == flat_as_tuples(flat)


@pytest.mark.parametrize(
    "code",
    [
        "[cd(folder='docs'), mkdir(dir_name=\"temp\"), tail('a.txt', lines=-2)]",
        "ls(a=True), find(path='.', name=None)",
        "[echo(content='é 🙂 \t tab', file_name='x')]",
        "[wc(file_name='a', mode='l'),]",
        "[f(x=1.5e-07, y=-0.0, z=0)]",
        "[mean(numbers=[3, 16, 60]), f([], ['a', \"b\",], [True, None, -1.5])]",
        r"""[echo(content='Alice | 5\nBob\t\\ \'q\' \"d\"', file_name='x.csv')]""",
    ],
)
def test_fast_path_accepts_the_common_shapes(code):
    flat = parse_flat_calls(code)
    assert flat is not None
    assert as_tuples(ast_path(code)) == flat_as_tuples(flat)


@pytest.mark.parametrize(
    "code",
    [
        "[ls(a=1+1)]", "ls(a='x\\zy')", "ls(a='\\x41')", "ls(a=[[1]])", "ls(a=[1 2])", "ls(a={'k': 1})", "ls(x=1, 2)", "ls(x=1, x=2)", "if(a=1)", "ls(True=1)",
        "ls(a=1e999)", "ls(a=012)", "ls(a=+1)", "ls (a=1)", "os.system('x')", "ls('a' 'b')", "ls(a='\x00')",
    ],
)  # fmt: skip
def test_fast_path_leaves_everything_else_to_ast(code):
    assert parse_flat_calls(code) is None


@pytest.mark.parametrize(
    "code", ["[ｌｓ()]", "[cd(folder='x'), ｌｓ()]", "[ls(ａ=True)]", "ls(a=1, ａ=2)", "[lｓ()]", "[ls(),\u3000pwd()]",
             "ls(a=1,\xa0b=2)", "[ls(a=[1,\v2])]"],
)  # fmt: skip
def test_non_ascii_names_and_whitespace_are_left_to_ast(code):
    # The ast path reads names exactly as written (see test_actions); this parser never normalises one.
    assert parse_flat_calls(code) is None


def test_stop_after_bounds_the_work():
    calls = parse_flat_calls("[" + "ls(), " * 10_000 + "]", stop_after=64)
    assert calls is not None and len(calls) == 65
