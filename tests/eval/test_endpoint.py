"""The OpenAI-compatible endpoint policy against a scripted chat-completions server on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import gymnasium as gym
import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.eval import EndpointError, OpenAIPolicy, evaluate, run_episode
from envtune_gym.eval.command import add_commands
from envtune_gym.eval.endpoint import DEFAULT_MAX_RESPONSE_BYTES, MAX_JSON_DEPTH, EndpointUnreachable
from envtune_gym.tasks.bundled import load_bundled

TASK_ID = "filesystem_base_2"  # turns with two calls: one assistant message, two tool messages
HANG = "hang"


def completion(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def oracle_script(task_id: str = TASK_ID) -> list[dict[str, Any]]:
    """The ground truth of a bundled task as chat completions: tool calls with JSON-string arguments, replies."""
    task = next(task for task in load_bundled("filesystem") if task.id == task_id)
    script = []
    for step, action in enumerate(oracle_actions(task, style="json")):
        try:
            calls = json.loads(action)
        except json.JSONDecodeError:
            script.append(completion(content=action))
            continue
        script.append(
            completion(
                tool_calls=[
                    tool_call(f"call_{step}_{index}", call["name"], json.dumps(call["arguments"]))
                    for index, call in enumerate(calls)
                ]
            )
        )
    return script


class ChatServer:
    """Answers each POST /v1/chat/completions with the next scripted entry, recording the request bodies.

    An entry is a completion dict (200), raw body bytes (200), ``(status, body, headers)``, or :data:`HANG` (no
    answer until the test ends, at most 5 s). An exhausted script answers 500. ``GET /v1/models`` (the eval's
    reachability check) answers a model list and is counted in ``gets``.
    """

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.gets = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    entry = (
                        server.script.pop(0) if server.script else (500, {"error": "script exhausted"}, {})
                    )
                if self.path != "/v1/chat/completions":
                    entry = (404, {"error": f"no route {self.path}"}, {})
                if entry == HANG:
                    server.release.wait(5)
                    return
                status, payload, headers = entry if isinstance(entry, tuple) else (200, entry, {})
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self._answer(status, data, headers)

            def do_GET(self) -> None:  # noqa: N802
                with server._lock:
                    server.gets += 1
                self._answer(200, b'{"object": "list", "data": [{"id": "scripted-model"}]}', {})

            def _answer(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours proxy variables; the scripted server is on loopback."""
    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ChatServer] = []

    def start(script: list[Any]) -> ChatServer:
        servers.append(ChatServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def run_task(server: ChatServer, **policy_kwargs: Any):
    settings = {"timeout": 2.0, "max_retries": 2, "backoff": 0.01, **policy_kwargs}
    result = evaluate(
        "EnvTune/FileSystem-v0",
        lambda: OpenAIPolicy(server.base_url, "scripted-model", **settings),
        task_ids=[TASK_ID],
        workers=1,
        progress=False,
    )
    return result.episodes[0], result


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [message for message in request["messages"] if message["role"] == "tool"]


def test_a_correct_tool_call_sequence_succeeds_and_the_protocol_is_followed(serve):
    script = oracle_script()
    server = serve(script)
    episode, result = run_task(server, api_key="sk-test", temperature=0.0, max_tokens=64)
    assert episode.success and episode.error is None and result.scores.overall.accuracy == 1.0
    assert len(server.requests) == len(script)
    first = server.requests[0]
    assert first["model"] == "scripted-model" and first["temperature"] == 0.0 and first["max_tokens"] == 64
    assert first["messages"] == [episode.messages[0]] and episode.messages[0]["role"] == "user"
    names = {tool["function"]["name"] for tool in first["tools"]}
    assert {"ls", "cd", "mkdir"} <= names and all(tool["type"] == "function" for tool in first["tools"])
    assert server.headers[0]["Authorization"] == "Bearer sk-test"
    # Every assistant tool call is answered by one tool message with its id, in order, holding the env's result.
    final = server.requests[-1]["messages"]
    results = [call["result"] for step in episode.steps for call in step["calls"]]
    asked = [
        call["id"]
        for message in final
        if message["role"] == "assistant"
        for call in message.get("tool_calls", [])
    ]
    answered = [message["tool_call_id"] for message in final if message["role"] == "tool"]
    assert answered == asked and any(len(message.get("tool_calls", [])) == 2 for message in final)
    assert [message["content"] for message in final if message["role"] == "tool"] == results
    # Each new user turn comes as a user message after the assistant's reply.
    assert [message["role"] for message in final].count("user") == episode.num_turns > 1
    assert episode.messages[: len(final)] == final


def test_malformed_arguments_get_a_format_error_observation_and_the_episode_goes_on(serve):
    bad = completion(tool_calls=[tool_call("call_bad", "ls", '{"a": tru')])
    server = serve([bad, *oracle_script()])
    episode, _ = run_task(server)
    assert episode.steps[0]["action_error"]["category"] == "format"
    assert episode.steps[0]["observation"].startswith("Error (format)")
    (answer,) = tool_messages(server.requests[1])
    assert answer["tool_call_id"] == "call_bad" and answer["content"].startswith("Error (format)")
    assert episode.success and episode.finish == "terminated"


def test_a_500_is_retried(serve):
    script = oracle_script()
    server = serve([(500, {"error": "overloaded"}, {}), *script])
    episode, _ = run_task(server)
    assert episode.success and len(server.requests) == len(script) + 1
    assert server.requests[0] == server.requests[1]


def test_a_429_is_retried_after_retry_after(serve):
    server = serve([(429, {"error": "rate limited"}, {"Retry-After": "0"}), *oracle_script()])
    episode, _ = run_task(server)
    assert episode.success and server.requests[0] == server.requests[1]


def test_a_hanging_response_times_out_and_is_retried(serve):
    server = serve([HANG, *oracle_script()])
    episode, _ = run_task(server, timeout=0.3)
    assert episode.success and episode.error is None
    assert server.requests[0] == server.requests[1]


def test_a_400_is_not_retried_and_fails_the_episode(serve):
    server = serve([(400, {"error": {"message": "tools: unsupported"}}, {}), *oracle_script()])
    episode, result = run_task(server)
    assert len(server.requests) == 1
    assert not episode.success and episode.finish == "error" and episode.steps == []
    assert episode.error.startswith("EndpointError: ") and "HTTP 400" in episode.error
    assert "tools: unsupported" in episode.error
    assert result.scores.errors["episodes"] == 1 and result.scores.overall.accuracy == 0.0


def test_retries_are_bounded_then_a_clear_error(serve):
    server = serve([(503, {"error": "down"}, {})] * 10)
    policy = OpenAIPolicy(server.base_url, "m", timeout=1.0, max_retries=2, backoff=0.0)
    policy.start({"observation": "hi", "info": {"tools": []}, "task": None, "sample": 0})  # type: ignore[typeddict-item]
    with pytest.raises(EndpointError, match="gave up after 3 attempts; last error: HTTP 503") as error:
        policy.act("hi", {"tools": []})
    assert error.value.status == 503 and error.value.attempts == 3 and len(server.requests) == 3
    assert "tools" not in server.requests[0]  # an empty tool list is left out


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = OpenAIPolicy(f"http://127.0.0.1:{port}/v1", "m", timeout=1.0, max_retries=1, backoff=0.0)
    policy.start({"observation": "hi", "info": {"tools": []}, "task": None, "sample": 0})  # type: ignore[typeddict-item]
    with pytest.raises(EndpointError, match="gave up after 2 attempts") as error:
        policy.act("hi", {"tools": []})
    assert error.value.status is None


def test_a_reply_without_tool_calls_is_its_text_and_a_bad_response_is_an_error(serve):
    server = serve([completion(content="All done."), {"unexpected": True}])
    policy = OpenAIPolicy(
        server.base_url, "m", system_prompt="Be brief.", extra_body={"top_p": 0.5}, backoff=0.0
    )
    policy.start({"observation": "hi", "info": {}, "task": None, "sample": 0})  # type: ignore[typeddict-item]
    assert policy.act("hi", {"tools": []}) == "All done."
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert server.requests[0]["top_p"] == 0.5 and "Authorization" not in server.headers[0]
    with pytest.raises(EndpointError, match="no choices"):
        policy.act("next question", {"tools": [], "turn_result": {}})
    assert server.requests[1]["messages"][-1] == {"role": "user", "content": "next question"}


# --- Hostile and broken servers: malformed bodies, redirects, drips, huge bodies, no server at all. ---

Responder = Callable[[socket.socket, threading.Event], int]


class RawServer:
    """A loopback TCP server answering each connection, one at a time, with ``respond(connection, stop)``.

    ``respond`` returns how many bytes it sent (kept in ``sent``). The server stops by itself after
    ``connections`` connections or 100 idle accept polls (10 s), and at :meth:`close`.
    """

    def __init__(self, respond: Responder, connections: int = 4) -> None:
        self.respond = respond
        self.sent: list[int] = []
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self._thread.start()

    def _serve(self, connections: int) -> None:
        polls = 0
        while len(self.sent) < connections and polls < 100 and not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                polls += 1
                continue
            with connection:
                connection.settimeout(5)
                try:
                    read_request(connection)
                    self.sent.append(self.respond(connection, self.stop))
                except OSError:
                    self.sent.append(0)

    def close(self) -> None:
        self.stop.set()
        self._thread.join(10)
        self.listener.close()


def read_request(connection: socket.socket) -> bytes:
    """One HTTP request: the head, then a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 1_000_000:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def drip(response: bytes, at_once: int) -> Responder:
    """Send the first ``at_once`` bytes, then one byte every 50 ms: each read is quick, their sum is not."""

    def respond(connection: socket.socket, stop: threading.Event) -> int:
        sent = 0
        try:
            connection.sendall(response[:at_once])
            sent = at_once
            while sent < len(response) and not stop.wait(0.05):
                connection.sendall(response[sent : sent + 1])
                sent += 1
        except OSError:
            pass  # the client hung up: what the deadline should make it do
        return sent

    return respond


def http_response(body: bytes, *head: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", *head]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def raw_serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(respond: Responder, connections: int = 4) -> RawServer:
        servers.append(RawServer(respond, connections))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def a_policy(base_url: str, **kwargs: Any) -> OpenAIPolicy:
    """A policy started on a one-message conversation with no tools."""
    policy = OpenAIPolicy(base_url, "m", **{"timeout": 2.0, "max_retries": 0, "backoff": 0.0, **kwargs})
    policy.start({"observation": "hi", "info": {"tools": []}, "task": None, "sample": 0})  # type: ignore[typeddict-item]
    return policy


def deep_arguments(depth: int) -> bytes:
    arguments = "[" * (depth - 4) + "]" * (depth - 4)  # 4 levels of the completion around it
    call = '{"id": "c", "type": "function", "function": {"name": "ls", "arguments": ' + arguments + "}}"
    return ('{"choices": [{"message": {"role": "assistant", "tool_calls": [' + call + "]}}]}").encode()


MALFORMED = {
    "200,000 nested brackets": (b"[" * 200_000, "RecursionError"),
    "a 5,000-digit integer": (
        b'{"choices": [{"message": {"content": ' + b"7" * 5000 + b"}}]}",
        "4300 digits",
    ),
    "arguments nested past the depth limit": (
        deep_arguments(MAX_JSON_DEPTH + 20),
        f"nests deeper than {MAX_JSON_DEPTH} levels",
    ),
    "a lone surrogate": (b'{"choices": [{"message": {"content": "\\ud800"}}]}', "lone surrogate"),
    "not JSON": (b"<html>bad gateway</html>", "not usable JSON (JSONDecodeError"),
    "not UTF-8": (b'{"choices": "\xff"}', "not usable JSON (UnicodeDecodeError"),
    "a JSON array": (b"[1, 2]", "not a JSON object"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_response_fails_its_episode_and_the_eval_writes_its_outputs(serve, tmp_path, case):
    body, reason = MALFORMED[case]
    server = serve([body, *oracle_script()])
    result = evaluate(
        "EnvTune/FileSystem-v0",
        lambda: OpenAIPolicy(server.base_url, "m", timeout=2.0, max_retries=2, backoff=0.0),
        task_ids=[TASK_ID], samples=2, workers=1, progress=False, out_dir=tmp_path,
    )  # fmt: skip
    failed, played = result.episodes
    assert failed.finish == "error" and failed.error.startswith("EndpointError: ") and reason in failed.error
    assert played.success and played.error is None
    assert len(server.requests) == 1 + len(oracle_script())  # a malformed body is not asked for again
    lines = (tmp_path / "trajectories.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["error"] is None for line in lines] == [False, True]
    assert json.loads((tmp_path / "summary.json").read_text())["errors"]["episodes"] == 1


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="envtune")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_the_command_records_a_malformed_response_and_exits_0_with_its_outputs(serve, tmp_path, capsys):
    server = serve([b"[" * 200_000, *oracle_script()])
    code = run_cli(["eval", "EnvTune/FileSystem-v0", "--policy", "openai", "--model", "m", "--base-url",
                    server.base_url, "--task", TASK_ID, "--samples", "2", "--workers", "1", "--no-progress",
                    "--out", str(tmp_path)])  # fmt: skip
    assert code == 0 and server.gets == 1  # one reachability check, then the episodes
    assert "| **overall** | 1 | 50.00 |" in capsys.readouterr().out
    assert json.loads((tmp_path / "summary.json").read_text())["errors"]["episodes"] == 1


def test_an_unreachable_endpoint_stops_the_command_before_any_episode(monkeypatch, capsys):
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def no_eval(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the eval started without a server")

    monkeypatch.setattr("envtune_gym.eval.runner.evaluate", no_eval)
    base_url = f"http://localhost:{port}/v1"  # the README's spelling
    code = run_cli(["eval", "EnvTune/FileSystem-v0", "--policy", "openai", "--model", "my-model", "--base-url",
                    base_url, "--no-progress"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"envtune eval: cannot reach {base_url} (")
    assert "Connection refused" in captured.err and captured.err.endswith("is the server running?\n")


def test_the_check_passes_on_any_http_answer_and_fails_on_a_silent_server(raw_serve):
    not_found = raw_serve(lambda connection, stop: connection.sendall(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") or 0)  # fmt: skip
    OpenAIPolicy(
        not_found.base_url, "m"
    ).check_endpoint()  # a server is there; its 404 is no reachability error
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections queue in the backlog, never answered
        base_url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        with pytest.raises(EndpointUnreachable, match=r"cannot reach .*TimeoutError"):
            OpenAIPolicy(base_url, "m", timeout=0.3).check_endpoint()


COMPLETION = json.dumps(completion(content="All done.")).encode()


@pytest.mark.parametrize(
    ("stage", "at_once"),
    [("body", len(http_response(b"", f"Content-Length: {len(COMPLETION)}"))), ("status line and headers", 0)],
)
def test_a_dripping_server_is_cut_off_at_the_total_deadline(raw_serve, stage, at_once):
    # Every byte comes within 50 ms, far under the 0.5 s deadline, and the whole response is a valid completion:
    # only a deadline on the whole request (not on each read) ends it before it completes.
    response = http_response(COMPLETION, f"Content-Length: {len(COMPLETION)}")
    server = raw_serve(drip(response, at_once), connections=1)
    with pytest.raises(
        EndpointError, match=r"last error: TimeoutError: timed out: no whole response within 0.5 s"
    ):
        a_policy(server.base_url, timeout=0.5).act("hi", {"tools": []})
    server.close()
    assert server.sent[0] < len(response)  # the client hung up mid-drip


def test_a_dripping_server_is_recorded_as_a_timeout_after_the_retries(raw_serve):
    response = http_response(COMPLETION, f"Content-Length: {len(COMPLETION)}")
    server = raw_serve(drip(response, 40), connections=2)
    episode, _ = run_task(server, timeout=0.5, max_retries=1)  # type: ignore[arg-type]
    assert episode.finish == "error" and not episode.success
    assert "gave up after 2 attempts; last error: TimeoutError: timed out" in episode.error
    server.close()
    assert len(server.sent) == 2 and all(sent < len(response) for sent in server.sent)


def flood(head: bytes, total: int) -> Responder:
    """Send ``head``, then zeros in 64 KiB chunks up to ``total`` bytes or until the client hangs up."""

    def respond(connection: socket.socket, stop: threading.Event) -> int:
        sent = 0
        try:
            connection.sendall(head)
            while sent < total and not stop.is_set():
                connection.sendall(b"0" * 65536)
                sent += 65536
        except OSError:
            pass
        return sent

    return respond


def test_a_declared_oversized_body_is_refused_unread_and_not_retried(raw_serve):
    head = http_response(b"", "Content-Length: 300000000")
    server = raw_serve(flood(head, 8 * 2**20), connections=3)
    with pytest.raises(
        EndpointError,
        match=rf"is 300000000 bytes, over the {DEFAULT_MAX_RESPONSE_BYTES}-byte limit; not read",
    ):
        a_policy(server.base_url, max_retries=2).act("hi", {"tools": []})
    server.close()
    assert len(server.sent) == 1


def chunked(body: bytes, size: int = 500) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


BIG_COMPLETION = json.dumps(completion(content="x" * 5000)).encode()


@pytest.mark.parametrize(
    "response",
    [
        http_response(chunked(BIG_COMPLETION), "Transfer-Encoding: chunked"),
        http_response(BIG_COMPLETION, "Connection: close"),  # no length: the body ends when the server closes
    ],
    ids=["chunked", "until-close"],
)
def test_an_undeclared_oversized_body_is_cut_off_while_reading(raw_serve, response):
    # The body is a valid completion: only counting the bytes read stops it.
    server = raw_serve(lambda connection, stop: connection.sendall(response) or len(response), connections=1)
    with pytest.raises(EndpointError, match="over the 1000-byte limit; stopped reading"):
        a_policy(server.base_url, max_response_bytes=1000).act("hi", {"tools": []})
    assert a_policy(server.base_url).max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_refused_and_the_key_stays_home(serve, code):
    elsewhere = serve([completion(content="stolen")])
    server = serve([(code, {}, {"Location": elsewhere.base_url + "/chat/completions"})])
    with pytest.raises(
        EndpointError, match=rf"HTTP {code} redirect to another origin, http://127.0.0.1:\d+; not followed"
    ):
        a_policy(server.base_url, api_key="sk-secret", max_retries=2).act("hi", {"tools": []})
    assert elsewhere.requests == [] and elsewhere.gets == 0 and len(server.requests) == 1


def test_the_same_server_under_another_host_name_is_another_origin(serve):
    server = serve([(307, {}, {"Location": server_url_as_localhost(serve)}), completion(content="stolen")])
    with pytest.raises(EndpointError, match="redirect to another origin, http://localhost:"):
        a_policy(server.base_url, api_key="sk-secret").act("hi", {"tools": []})
    assert len(server.requests) == 1


def server_url_as_localhost(serve: Callable[[list[Any]], ChatServer]) -> str:
    """A URL naming a running loopback server by ``localhost`` instead of ``127.0.0.1``."""
    target = serve([])
    return target.base_url.replace("127.0.0.1", "localhost") + "/chat/completions"


def test_a_same_origin_307_is_followed_with_the_key_and_the_body(serve):
    server = serve([(307, {}, {"Location": "/v1/chat/completions"}), completion(content="Here.")])
    assert a_policy(server.base_url, api_key="sk-secret").act("hi", {"tools": []}) == "Here."
    assert [headers["Authorization"] for headers in server.headers] == ["Bearer sk-secret"] * 2
    assert server.requests[0] == server.requests[1]


def test_a_same_origin_302_would_turn_the_post_into_a_get_and_is_refused(serve):
    server = serve([(302, {}, {"Location": "/v1/chat/completions"}), completion(content="Here.")])
    with pytest.raises(EndpointError, match="HTTP 302 redirect to .* would turn the POST into a GET"):
        a_policy(server.base_url).act("hi", {"tools": []})
    assert len(server.requests) == 1 and server.gets == 0


def test_an_episode_from_a_later_turn_starts_with_the_history(serve):
    # Turn 1 of TASK_ID from its ground-truth start: the script is the oracle's turn 1 alone.
    script = oracle_script()
    replies = [
        index for index, entry in enumerate(script) if "tool_calls" not in entry["choices"][0]["message"]
    ]
    server = serve(script[replies[0] + 1 : replies[1] + 1])
    policy = OpenAIPolicy(server.base_url, "scripted-model", timeout=2.0, max_retries=0)
    env = gym.make("EnvTune/FileSystem-v0")
    _, info = env.reset(options={"task_id": TASK_ID, "start_turn": 1})
    episode = run_episode(env, policy, TASK_ID, start_turn=1, end_turn=1)
    assert episode.success and episode.error is None
    first = server.requests[0]["messages"]
    task = env.unwrapped.task
    assert first == [*info["history"], {"role": "user", "content": task.turns[1]}]
    # The history's calls and results follow the protocol as the live ones do.
    assert [m["tool_call_id"] for m in first if m["role"] == "tool"] == [
        call["id"] for m in first if m["role"] == "assistant" for call in m.get("tool_calls", [])
    ]
    assert episode.messages[: len(first)] == first
