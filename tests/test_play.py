"""``envtune play``: an episode played through a real pseudo-terminal, through a pipe, and in-process."""

from __future__ import annotations

import errno
import io
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.cli import main
from envtune_gym.play import CONTINUATION_PROMPT, PROMPT, play
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tools import signature_of

fcntl = pytest.importorskip("fcntl", reason="pseudo-terminals are POSIX")
termios = pytest.importorskip("termios", reason="pseudo-terminals are POSIX")

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "EnvTune/FileSystem-v0"
TASK_ID = "filesystem_base_0"
COMMAND = [sys.executable, "-m", "envtune_gym.cli", "play", ENV_ID, "--task", TASK_ID]
#: CSI sequences: colors, and the mode switches readline may print (bracketed paste, meta key).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _task():
    return next(task for task in load_bundled("filesystem") if task.id == TASK_ID)


def _oracle_results() -> list[str]:
    """The result strings of the oracle's calls, from a separate env: what the screen must show."""
    env = gym.make(ENV_ID)
    env.reset(options={"task_id": TASK_ID})
    results = []
    for action in oracle_actions(_task()):
        *_, info = env.step(action)
        results += [call["result"] for call in info["calls"]]
    return results


def _default_sigint() -> None:
    # A test run started in the background (as CI may be) inherits SIGINT as ignored, and Python then installs no
    # KeyboardInterrupt handler; a person's terminal delivers Ctrl-C to a default disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """``envtune play`` on a pseudo-terminal's slave side; the test types and reads on the master side."""

    def __init__(self, args: list[str], *, deadline: float = 30.0, color: bool = False) -> None:
        self.master, slave = os.openpty()
        # A wide window, so readline never scrolls or wraps a long echoed line.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
        env.update(TERM="xterm", **({} if color else {"NO_COLOR": "1"}))
        self.process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, preexec_fn=_default_sigint
        )
        os.close(slave)  # the child holds it; reads on the master end (EIO) once the child exits
        self.deadline = time.monotonic() + deadline
        self.raw = ""  # everything read, escapes included
        self.seen = 0  # how far in the plain screen text expect() has matched

    @property
    def screen(self) -> str:
        """What was printed, without escape sequences and carriage returns."""
        return _ANSI.sub("", self.raw).replace("\r", "")

    def expect(self, text: str) -> str:
        """Read until ``text`` appears after the last match; return the screen from there to its end."""
        while True:
            index = self.screen.find(text, self.seen)
            if index >= 0:
                start, self.seen = self.seen, index + len(text)
                return self.screen[start : self.seen]
            if not self._read():
                raise AssertionError(f"{text!r} never appeared; the screen ends with:\n{self.screen[-2000:]}")

    def poll_for(self, text: str, seconds: float) -> bool:
        """Whether ``text`` appears after the last match within ``seconds`` (without consuming it)."""
        until = time.monotonic() + seconds
        while self.screen.find(text, self.seen) < 0:
            if time.monotonic() >= until:
                return False
            ready, _, _ = select.select([self.master], [], [], max(0.0, until - time.monotonic()))
            if ready and not self._read():
                break
        return self.screen.find(text, self.seen) >= 0

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def finish(self) -> int:
        """Read to the end of the output and return the exit status."""
        while self._read():
            pass
        try:
            return self.process.wait(timeout=max(0.1, self.deadline - time.monotonic()))
        finally:
            os.close(self.master)

    def _read(self) -> bool:
        """Read what is available within the deadline; False at the end of output or when the time is up."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], min(left, 5.0))
        if not ready:
            return True  # nothing yet: the deadline above ends the wait
        try:
            chunk = os.read(self.master, 65536)
        except OSError as exc:  # Linux: EIO once the slave side is closed by the exiting child
            if exc.errno != errno.EIO:
                raise
            return False
        self.raw += chunk.decode(errors="replace")
        return bool(chunk)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def terminal() -> Iterator[type[Terminal]]:
    opened: list[Terminal] = []

    def start(args: list[str] = COMMAND, **kwargs: object) -> Terminal:
        opened.append(Terminal(args, **kwargs))
        return opened[-1]

    yield start  # type: ignore[misc]
    for term in opened:
        term.close()


def _play_oracle(term: Terminal) -> None:
    """Type the oracle's actions, each at a prompt (the first one has just been shown)."""
    actions = list(oracle_actions(_task()))
    for number, action in enumerate(actions, 1):
        term.send(action)
        if number < len(actions):  # no prompt after the last action: the episode is over
            term.expect(PROMPT)


def test_oracle_episode_through_a_terminal(terminal):
    term = terminal(color=True)
    intro = term.expect(PROMPT)
    assert f"task {TASK_ID} (base)" in intro and "GorillaFileSystem" in intro
    assert "ls(a: boolean = False)" in intro and "-- turn 1 of 2 -- user:" in intro
    _play_oracle(term)
    term.expect("success True")
    assert term.finish() == 0
    screen = term.screen
    assert all(result in screen for result in _oracle_results())
    assert screen.count("-> ") == len(_oracle_results())
    assert "== turn 1: passed" in screen and "== turn 2: passed" in screen and "-- turn 2 of 2" in screen
    assert "episode over: reward 1.0, success True" in screen
    assert "\x1b[32m" in term.raw  # colors on a terminal
    assert "Traceback" not in screen


def test_malformed_action_is_reported_and_the_episode_goes_on(terminal):
    term = terminal()
    term.expect(PROMPT)
    term.send("[ls(a=1+1)]")
    shown = term.expect(PROMPT)
    assert "action rejected (format)" in shown and "not a literal value" in shown
    term.send("[pwd(),\\")  # a continued line
    term.expect(CONTINUATION_PROMPT)
    term.send(" ls(a=True)]")
    shown = term.expect(PROMPT)
    assert "-> pwd(): ok" in shown and "-> ls(a=True): ok" in shown
    _play_oracle(term)
    assert term.finish() == 0
    assert "== turn 1: passed" in term.screen and "success True" in term.screen
    assert not re.search(r"\x1b\[[0-9;]*m", term.raw)  # no colors with NO_COLOR set
    assert "Traceback" not in term.screen


def test_tool_commands_and_quit(terminal):
    term = terminal()
    term.expect(PROMPT)
    term.send("/tools")
    shown = term.expect(PROMPT)
    _, info = gym.make(ENV_ID).reset(options={"task_id": TASK_ID})
    for tool in info["tools"]:
        assert signature_of(tool["function"]["name"], tool["function"]["parameters"]) in shown
    term.send("/tool tail")
    assert '"name": "tail"' in term.expect(PROMPT)
    term.send("/tool tial")
    assert "did you mean tail" in term.expect(PROMPT)
    term.send("/state")
    assert "[user]" in term.expect(PROMPT)
    term.send("/quit")
    term.expect("bye")
    assert term.finish() == 0
    assert "Traceback" not in term.screen


def test_end_of_input_exits_cleanly(terminal):
    term = terminal()
    term.expect(PROMPT)
    os.write(term.master, b"\x04")  # Ctrl-D on an empty line
    term.expect("end of input")
    assert term.finish() == 0
    assert "Traceback" not in term.screen


def test_ctrl_c_exits_cleanly(terminal):
    term = terminal()
    term.expect(PROMPT)
    # CPython's readline notices a signal only once it waits for input, which starts just after the prompt; on a
    # loaded machine that can take a while, so the signal is repeated (bounded) until the player reacts.
    for _ in range(40):
        time.sleep(0.25)
        term.process.send_signal(signal.SIGINT)
        if term.poll_for("interrupted", seconds=0.5) or term.process.poll() is not None:
            break
    term.expect("interrupted")
    assert term.finish() == 130
    assert "Traceback" not in term.screen


def test_piped_stdin_plays_and_echoes_the_actions():
    actions = list(oracle_actions(_task()))
    done = subprocess.run(
        COMMAND,
        input="\n".join(["/tools", "[ls(a=1+1)]", "", *actions]) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "NO_COLOR"},
    )
    assert done.returncode == 0, done.stderr
    assert all(f"{PROMPT}{action}" in done.stdout for action in actions)  # each action echoed
    assert "action rejected (format)" in done.stdout and "== turn 2: passed" in done.stdout
    assert "success True" in done.stdout and "\x1b[" not in done.stdout  # no colors in a pipe
    assert done.stderr == ""


# ----------------------------------------------------------------------------------------------------------------
# In-process: verdicts of failed turns, hints, bad arguments


def _play_lines(lines: list[str], **kwargs: object) -> tuple[int, str]:
    feed = iter(lines)

    def read_line(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    status = play(ENV_ID, read_line=read_line, out=out, **kwargs)  # type: ignore[arg-type]
    return status, out.getvalue()


def test_failed_turns_show_why():
    status, out = _play_lines(["Done.", "[mkdir(dir_name='draft')]", "Done."], task_id="filesystem_base_1")
    assert status == 1
    assert "== turn 1: failed (empty_turn_model_response)" in out and "no call was made" in out
    assert "expected results not produced" in out
    assert "== turn 2: failed (instance_state_mismatch)" in out and "state differs" in out
    assert "draft" in out.split("== turn 2")[1]
    assert out.rstrip().endswith("reward 0.0, success False")


def test_hints_are_shown():
    status, out = _play_lines(["[lss()]", "[cd(folder='nowhere')]"], task_id=TASK_ID, hints=True)
    assert status == 0  # input ended: the player left
    assert "hints on" in out and "hint: " in out and "Did you mean" in out
    assert "-> cd(folder='nowhere'): tool_error" in out and "-> lss(): unknown_tool" in out


def test_step_budget_and_truncation():
    status, out = _play_lines(["[pwd()]"] * 3, task_id=TASK_ID, max_steps_per_turn=2)
    assert status == 1
    assert "no steps left in this turn" in out and "truncated: more than 2 steps" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["play", "EnvTune/Nope-v0"], "envtune list"),
        (["play", ENV_ID, "--task", "nope"], "unknown task_id 'nope'"),
        (["play", ENV_ID, "--max-steps-per-turn", "0"], "max_steps_per_turn must be >= 1"),
    ],
)
def test_bad_arguments_exit_with_a_message(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
