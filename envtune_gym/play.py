"""``envtune play``: play an EnvTune env as the agent, in a terminal.

The player sees what an agent sees (the user's messages, the tools, the results of its calls) and types
actions in any format the env accepts: BFCL python calls (``[ls(a=True)]``), Hermes
``<tool_call>{...}</tool_call>`` blocks or a JSON list of calls. Plain text is the reply to the user and ends
the turn, which the env then checks against the ground truth; the verdict is shown before the next user
message. A line ending with ``\\`` continues on the next line. Commands start with ``/`` (``/help`` lists
them).

Input is read with :func:`input` (with ``readline`` history on a terminal); when stdin is not a terminal,
lines are read until EOF and echoed after the prompt, so ``envtune play ID < actions.txt`` prints a readable
session. Colors are used only when stdout is a terminal and ``NO_COLOR`` is not set (https://no-color.org).

Example:
    $ envtune play EnvTune/FileSystem-v0 --task filesystem_base_0
    $ printf '[pwd()]\\nDone.\\n[ls(a=True)]\\nDone.\\n' | envtune play EnvTune/FileSystem-v0 --task \\
        filesystem_base_0
"""

from __future__ import annotations

import difflib
import io
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

import gymnasium as gym

import envtune_gym  # noqa: F401  (registers the EnvTune/* ids)
from envtune_gym.actions import ToolCall, format_call
from envtune_gym.envs.tool_env import REVEAL_MESSAGE, ToolUseEnv
from envtune_gym.tools import signature_of
from envtune_gym.wrappers import HintAugmentation

PROMPT = "agent> "
#: The prompt of a continuation line (after a line that ends with a backslash).
CONTINUATION_PROMPT = "  ...> "
#: Exit statuses of :func:`play`.
EXIT_SUCCESS, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

HELP = """\
Type an action and press Enter:
  [ls(a=True), cd(folder='docs')]                         BFCL python calls (literal values only)
  <tool_call>{"name": "ls", "arguments": {"a": true}}</tool_call>   Hermes / Qwen
  [{"name": "ls", "arguments": {"a": true}}]                a JSON list of calls
  anything else                                            your reply to the user: it ends the turn
A line ending with \\ continues on the next line. Start with // to send text that begins with /.
Commands:
  /help         this help
  /tools        the tools available now, with their signatures
  /tool NAME    one tool's full JSON schema
  /state        the transcript so far
  /quit         leave (also Ctrl-D; Ctrl-C leaves too)"""

#: Result strings longer than this are cut in the display (``/state`` shows them whole).
_MAX_SHOWN_RESULT = 4_000
#: Warn when fewer steps than this are left before a turn would be truncated.
_STEPS_WARNING = 3
#: State-diff entries and missing results shown per failed turn.
_MAX_DETAILS = 5

ReadLine = Callable[[str], str]


def play(
    env_id: str,
    *,
    task_id: str | None = None,
    seed: int | None = None,
    hints: bool = False,
    max_steps_per_turn: int | None = None,
    read_line: ReadLine | None = None,
    out: TextIO | None = None,
    color: bool | None = None,
) -> int:
    """Play one episode of ``env_id`` as the agent, interactively.

    Args:
        env_id: a registered id of a :class:`~envtune_gym.envs.ToolUseEnv`, e.g. ``"EnvTune/FileSystem-v0"``.
        task_id: the task to play; else one drawn with ``seed``.
        seed: seed of the task draw (``None``: a random task).
        hints: wrap the env with :class:`~envtune_gym.wrappers.HintAugmentation` (``level="full"``).
        max_steps_per_turn: the env's step budget per turn (default: the env's, 20).
        read_line: reads one line given a prompt, raising ``EOFError`` at the end (default: :func:`input`,
            echoing each line when stdin is not a terminal).
        out: where to write (default: ``sys.stdout``).
        color: use ANSI colors (default: when ``out`` is a terminal and ``NO_COLOR`` is not set).

    Returns:
        0 when the episode ended in success or the player left, 1 when it ended in failure, 2 when the env or
        task could not be set up, 130 on Ctrl-C.

    Example:
        >>> lines = iter(["[pwd()]", "Done.", "/quit"])
        >>> play("EnvTune/FileSystem-v0", task_id="filesystem_base_0",
        ...      read_line=lambda prompt: next(lines), out=io.StringIO())
        0
    """
    out = out if out is not None else sys.stdout
    try:
        env = _make_env(env_id, hints=hints, max_steps_per_turn=max_steps_per_turn)
    except gym.error.Error as exc:  # an unknown id: gym's message names close ones
        print(f"envtune play: {exc} (`envtune list` shows the EnvTune ids)", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, FileNotFoundError) as exc:  # bad env arguments; BFCL's data missing
        print(f"envtune play: {exc}", file=sys.stderr)
        return EXIT_USAGE
    echo = False
    if read_line is None:
        read_line, echo = _terminal_reader()
    session = _Session(
        env, env_id, _Palette(_use_color(out) if color is None else color), out, read_line, echo
    )
    try:
        return session.run(task_id=task_id, seed=seed)
    finally:
        env.close()


# ----------------------------------------------------------------------------------------------------------------
# Setup


def _make_env(env_id: str, *, hints: bool, max_steps_per_turn: int | None) -> gym.Env[str, str]:
    kwargs: dict[str, Any] = {"render_mode": "ansi"}  # /state shows env.render()
    if max_steps_per_turn is not None:
        kwargs["max_steps_per_turn"] = max_steps_per_turn
    env = gym.make(env_id, **kwargs)
    if not isinstance(env.unwrapped, ToolUseEnv):
        env.close()
        raise ValueError(f"{env_id} is not an EnvTune tool-use env; try `envtune list` for the ids")
    return HintAugmentation(env, level="full") if hints else env


def _terminal_reader() -> tuple[ReadLine, bool]:
    """:func:`input`, with readline history on a terminal; echo the lines when stdin is not a terminal."""
    interactive = _isatty(sys.stdin)
    # Undecodable bytes become U+FFFD instead of a UnicodeDecodeError (bad input must not crash the game), and
    # characters the terminal's encoding lacks are escaped rather than raising.
    # (Only the process's own streams: a replacement, e.g. a test's capture, is left as it is.)
    if type(sys.stdin) is io.TextIOWrapper:
        sys.stdin.reconfigure(errors="replace")
    if type(sys.stdout) is io.TextIOWrapper:
        sys.stdout.reconfigure(errors="backslashreplace")
    if interactive and _isatty(sys.stdout):
        try:
            import readline  # noqa: F401  (importing it gives input() line editing and history)
        except ImportError:  # not on every platform (e.g. Windows without pyreadline)
            pass
    return input, not interactive


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, a closed stream, or one without a file
        return False


def _use_color(out: TextIO) -> bool:
    return _isatty(out) and not os.environ.get("NO_COLOR")


class _Palette:
    """ANSI styles, or plain text when colors are off."""

    _CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, style: str, text: str) -> str:
        return f"\x1b[{self._CODES[style]}m{text}\x1b[0m" if self.enabled else text


# ----------------------------------------------------------------------------------------------------------------
# The session


class _Quit(Exception):
    """The player asked to leave."""


class _Session:
    """One interactive episode: reads entries, runs commands or steps, shows what happened."""

    def __init__(
        self,
        env: gym.Env[str, str],
        env_id: str,
        paint: _Palette,
        out: TextIO,
        read_line: ReadLine,
        echo: bool,
    ) -> None:
        self.env, self.env_id, self.paint, self.out = env, env_id, paint, out
        self.read_line, self.echo = read_line, echo
        self.tools: dict[str, dict[str, Any]] = {}

    def run(self, *, task_id: str | None, seed: int | None) -> int:
        try:
            observation, info = self.env.reset(seed=seed, options={"task_id": task_id} if task_id else None)
        except ValueError as exc:
            print(f"envtune play: {exc}", file=sys.stderr)
            return EXIT_USAGE
        self._remember_tools(info)
        self._show_intro(info)
        self._show_user_turn(observation, info)
        try:
            return self._loop()
        except _Quit:
            self._say(self.paint("dim", "bye (the episode was not finished)"))
            return EXIT_SUCCESS
        except EOFError:
            self._say(self.paint("dim", "\nend of input: bye (the episode was not finished)"))
            return EXIT_SUCCESS
        except KeyboardInterrupt:
            self._say(self.paint("dim", "\ninterrupted: bye (the episode was not finished)"))
            return EXIT_INTERRUPTED

    def _loop(self) -> int:
        while True:
            entry = self._read_entry()
            if not entry.strip():
                continue  # a stray Enter must not end the turn with an empty reply
            if entry.startswith("/") and not entry.startswith("//"):
                self._command(entry.strip())
                continue
            action = entry[1:] if entry.startswith("//") else entry
            observation, reward, terminated, truncated, info = self.env.step(action)
            self._show_step(observation, info)
            if terminated or truncated:
                return self._show_end(float(reward), truncated, info)

    def _read_entry(self) -> str:
        """One entry: a line, joined with the next ones while it ends with a backslash."""
        lines, prompt = [], PROMPT
        while True:
            line = self.read_line(prompt).removesuffix("\r")  # piped files may have CRLF line ends
            if self.echo:
                self._say(line)
            if not line.endswith("\\"):
                lines.append(line)
                return "\n".join(lines)
            lines.append(line[:-1])
            prompt = CONTINUATION_PROMPT

    # --------------------------------------------------------------------------------------------------------
    # Commands

    def _command(self, entry: str) -> None:
        name, _, argument = entry.partition(" ")
        argument = argument.strip()
        if name == "/help":
            self._say(HELP)
        elif name == "/tools":
            self._show_tools()
        elif name == "/tool":
            self._show_schema(argument)
        elif name == "/state":
            self._say(self.env.render() or "(nothing yet)")
        elif name in ("/quit", "/exit"):
            raise _Quit
        else:
            self._warn(f"unknown command {name}; /help lists the commands (// sends text that starts with /)")

    def _show_tools(self) -> None:
        self._say(self.paint("bold", f"== tools available now ({len(self.tools)}):"))
        for name, function in self.tools.items():
            self._say(f"   {signature_of(name, function.get('parameters', {}))}")

    def _show_schema(self, name: str) -> None:
        if not name:
            self._warn("usage: /tool NAME (/tools lists the names)")
        elif name in self.tools:
            self._say(json.dumps(self.tools[name], indent=2, ensure_ascii=False))
        else:
            close = difflib.get_close_matches(name, list(self.tools), n=3, cutoff=0.5)
            suggestion = f"; did you mean {', '.join(close)}?" if close else "; /tools lists them"
            self._warn(f"no tool {name!r} is available now{suggestion}")

    # --------------------------------------------------------------------------------------------------------
    # Display

    def _show_intro(self, info: dict[str, Any]) -> None:
        checked, turns = info["num_checked_turns"], info["num_turns"]
        self._say(
            self.paint("bold", f"== {self.env_id}  task {info['task_id']}")
            + f" ({info['category']}), {turns} turn{'s' * (turns != 1)} ({checked} checked),"
            f" domains: {', '.join(info['domains'])}"
        )
        if isinstance(self.env, HintAugmentation):
            self._say(f"== hints on (HintAugmentation, level {self.env.level})")
        self._show_tools()
        self._say(
            self.paint("dim", "== Type tool calls, or plain text to reply and end the turn. /help for more.")
        )

    def _show_user_turn(self, observation: str, info: dict[str, Any]) -> None:
        self._say(self.paint("bold", f"\n-- turn {info['turn'] + 1} of {info['num_turns']} -- user:"))
        if info["new_tools"]:
            # The observation opens with the new tools' JSON schemas (what a model reads); signatures do here.
            self._say(
                self.paint("cyan", f"(new tools: {', '.join(info['new_tools'])}; /tool NAME shows one)")
            )
            for name in info["new_tools"]:
                self._say(f"   {signature_of(name, self.tools[name].get('parameters', {}))}")
            start = observation.find(REVEAL_MESSAGE)
            observation = observation[start:] if start >= 0 else ""
        self._say(observation or self.paint("dim", "(no message)"))

    def _show_step(self, observation: str, info: dict[str, Any]) -> None:
        if "action_error" in info:
            error = info["action_error"]
            self._warn(f"action rejected ({error['category']}): {error['message']}")
        for call in info["calls"]:
            self._show_call(call)
        if info.get("hint"):
            self._say(self.paint("yellow", "hint: ") + info["hint"])
        self._remember_tools(info)
        if "turn_result" in info:
            self._show_verdict(info["turn_result"])
            if "success" not in info:
                self._show_user_turn(observation, info)
        elif info["calls"] or "action_error" in info:
            self._warn_steps_left(info["step_in_turn"])

    def _show_call(self, call: dict[str, Any]) -> None:
        text = format_call(ToolCall(call["name"], (), call["arguments"]))
        status = self.paint("green", "ok") if call["error"] is None else self.paint("red", call["error"])
        result = call["result"]
        if len(result) > _MAX_SHOWN_RESULT:
            result = result[:_MAX_SHOWN_RESULT] + f" [... {len(result) - _MAX_SHOWN_RESULT} more characters]"
        self._say(f"-> {text}: {status}")
        self._say("   " + result.replace("\n", "\n   "))

    def _warn_steps_left(self, steps: int) -> None:
        # The env allows max_steps_per_turn steps that do not end a turn; the one after those truncates.
        left = self.env.unwrapped.max_steps_per_turn - steps
        if left == 0:
            self._warn("no steps left in this turn: reply now, or the next step truncates the episode")
        elif left < _STEPS_WARNING:
            self._warn(f"{left} more step{'s' * (left != 1)} allowed in this turn before you must reply")

    def _show_verdict(self, result: dict[str, Any]) -> None:
        label = f"== turn {result['turn'] + 1}: "
        if not result["checked"]:
            self._say(label + self.paint("dim", "not checked (empty ground truth)"))
            return
        if result["passed"]:
            self._say(label + self.paint("green", "passed"))
            return
        self._say(label + self.paint("red", f"failed ({result['error_type']})"))
        if not result["made_call"]:
            self._say("   no call was made in this turn")
        if not result["state_match"]:
            self._show_state_diff(result["state_diff"])
        if result["missing_results"]:
            missing = result["missing_results"]
            self._say(f"   {len(missing)} of {result['expected_results']} expected results not produced:")
            for text in missing[:_MAX_DETAILS]:
                self._say(f"     {_short(text)}")

    def _show_state_diff(self, diff: dict[str, dict[str, Any]]) -> None:
        self._say(
            f"   state differs from the ground truth's ({len(diff)} entr{'ies' if len(diff) != 1 else 'y'}):"
        )
        for path, values in list(diff.items())[:_MAX_DETAILS]:
            expected, actual = _short(repr(values.get("expected"))), _short(repr(values.get("actual")))
            self._say(f"     {path}: expected {expected}, got {actual}")
        if len(diff) > _MAX_DETAILS:
            self._say(f"     ... and {len(diff) - _MAX_DETAILS} more")

    def _show_end(self, reward: float, truncated: bool, info: dict[str, Any]) -> int:
        if truncated:
            limit = self.env.unwrapped.max_steps_per_turn
            self._warn(f"truncated: more than {limit} steps in turn {info['turn'] + 1} without a reply")
        success = bool(info.get("success"))
        verdict = self.paint("green" if success else "red", f"success {success}")
        self._say(self.paint("bold", f"\n== episode over: reward {reward}, ") + verdict)
        return EXIT_SUCCESS if success else EXIT_FAILED

    # --------------------------------------------------------------------------------------------------------

    def _remember_tools(self, info: dict[str, Any]) -> None:
        self.tools = {tool["function"]["name"]: tool["function"] for tool in info["tools"]}

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _warn(self, text: str) -> None:
        self._say(self.paint("red", "! ") + text)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
