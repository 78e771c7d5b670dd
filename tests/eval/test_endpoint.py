"""The OpenAI-compatible endpoint policy against a scripted chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.eval import EndpointError, OpenAIPolicy, evaluate
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

    An entry is a completion dict (200), ``(status, body, headers)``, or :data:`HANG` (no answer until the test
    ends, at most 5 s). An exhausted script answers 500.
    """

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
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
                data = json.dumps(payload).encode()
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
