"""``envtune serve`` on the command line: one-line errors (exit 2) before serving, and a real HTTP server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest

from envtune_gym.cli import main
from envtune_gym.serve import command


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``envtune ARGV``; assert exit status 2 and one line on stderr; return it."""
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "EnvTune/Nope-v0", "--task", "x"], "unknown env id 'EnvTune/Nope-v0'"),
        (["serve", "EnvTune/FileSystem-v0"], "give --task TASK_ID"),
        (["serve", "EnvTune/FileSystem-v0", "--http", "--task", "x"], "--task is for stdio"),
        (["serve", "EnvTune/FileSystem-v0", "--task", "nope"], "unknown task_id 'nope'"),
        (
            ["serve", "EnvTune/FileSystem-v0", "--http", "--max-episodes", "0"],
            "--max-episodes must be a positive",
        ),
        (["serve", "EnvTune/FileSystem-v0", "--http", "--port", "70000"], "--port must be in 0..65535"),
        (["serve", "EnvTune/FileSystem-v0", "--http", "--env-kwargs", "{"], "--env-kwargs is not JSON"),
        (
            ["serve", "EnvTune/FileSystem-v0", "--http", "--env-kwargs", '{"nope": 1}'],
            "takes no argument(s) 'nope'",
        ),
    ],
)
def test_bad_input_is_one_line_before_anything_is_served(capsys, argv, message):
    assert message in fails(argv, capsys)


def test_a_missing_extra_names_the_install_command(capsys, monkeypatch):
    monkeypatch.setattr(command, "REQUIRED_MODULES", ("mcp", "no_such_module_for_envtune_tests"))
    err = fails(["serve", "EnvTune/FileSystem-v0", "--task", "filesystem_base_0"], capsys)
    assert 'pip install "envtune-gym[serve]"' in err and "no_such_module_for_envtune_tests" in err


def test_importing_the_package_and_the_cli_needs_no_mcp():
    code = (
        "import sys, envtune_gym, envtune_gym.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('mcp', 'mcp_types', 'starlette', 'uvicorn')))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        == "[]\n"
    )


def test_the_http_command_serves_on_a_free_port():
    pytest.importorskip("mcp")
    argv = [
        sys.executable,
        "-m",
        "envtune_gym.cli",
        "serve",
        "EnvTune/FileSystem-v0",
        "--http",
        "--port",
        "0",
    ]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        request = urllib.request.Request(
            url + "/episodes",
            data=json.dumps({"task_id": "filesystem_base_0"}).encode(),
            headers={"content-type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
        with opener.open(request) as response:
            episode = json.load(response)
        assert response.status == 201 and episode["mcp_path"] == f"/episodes/{episode['id']}/mcp"
        delete = urllib.request.Request(f"{url}/episodes/{episode['id']}", method="DELETE")
        with opener.open(delete) as response:
            assert json.load(response)["task_id"] == "filesystem_base_0"
    finally:
        process.terminate()
        process.wait()
        process.stderr.close()
