"""A policy behind an OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, SGLang): standard library only.

The policy keeps the conversation as chat messages with native tool calls: the tools go in the request's
``tools`` (``info["tools"]`` is already OpenAI's format), the model's ``tool_calls`` are turned into Hermes
``<tool_call>`` blocks for the env, and the env's results come back as one ``role: "tool"`` message per call
with the matching ``tool_call_id``. A turn's next user message is a ``role: "user"`` message. An episode that
starts at a later turn begins with ``info["history"]``, already in this form.

The model's ``arguments`` string is passed to the env untouched: malformed JSON becomes the env's format-error
observation (sent back as the tool messages' content), as a real deployment would see it. Nothing the model
writes is evaluated.

Transient failures (timeouts, refused or dropped connections, HTTP 429 and 5xx) are retried with exponential
backoff; other HTTP errors are not. When the retries are spent, :class:`EndpointError` is raised and the eval
runner records the episode as failed with that message.

The server's bytes are untrusted data, so each request is bounded: ``timeout`` is a deadline for the whole
attempt (connect, headers and body, however slowly the server drips them), the body may hold at most
``max_response_bytes`` (:data:`DEFAULT_MAX_RESPONSE_BYTES`), and a body that is not plain JSON text (nested
deeper than :data:`MAX_JSON_DEPTH`, an integer past Python's digit limit, a lone surrogate) is a malformed
response: the episode's :class:`EndpointError`, never a crash of the eval. A redirect to another origin is
refused, so the API key never leaves the origin of ``base_url``. :meth:`OpenAIPolicy.check_endpoint` checks once,
before an eval, that a server answers at all.

Example:
    >>> policy = OpenAIPolicy("http://127.0.0.1:8000/v1", "qwen3-4b", api_key="none")
    >>> policy.name, policy.url
    ('openai:qwen3-4b', 'http://127.0.0.1:8000/v1/chat/completions')
    >>> print(tool_calls_to_action([{"id": "c1", "function": {"name": "pwd", "arguments": "{}"}}]))
    <tool_call>
    {"name": "pwd", "arguments": "{}"}
    </tool_call>
"""

from __future__ import annotations

import copy
import http.client
import json
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from envtune_gym.eval.bounded_http import EndpointError, HTTPFailure, fetch
from envtune_gym.eval.policies import TaskInfo

#: Where :class:`OpenAIPolicy` reads the API key when none is given.
API_KEY_ENV = "OPENAI_API_KEY"

#: The largest response body :class:`OpenAIPolicy` reads by default (16 MiB): a chat completion is kilobytes.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 2**20

#: The deepest nesting of arrays and objects accepted in a response (tool arguments nest a few levels); deeper
#: values would overflow Python's recursion limit wherever they are copied, printed or written out later.
MAX_JSON_DEPTH = 100

# Text that is not Unicode: JSON's \ud800-\udfff escapes decode to lone surrogates, which UTF-8 cannot write.
_SURROGATE = re.compile("[\ud800-\udfff]")


class EndpointUnreachable(EndpointError):
    """No server answers at the endpoint (refused, unresolvable, or silent for the whole timeout)."""


class _Transient(Exception):
    """A failure worth retrying."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class OpenAIPolicy:
    """A model behind ``POST {base_url}/chat/completions`` with native tool calls.

    Args:
        base_url: the API root, e.g. ``https://api.openai.com/v1``, or ``http://127.0.0.1:8000/v1`` for vLLM.
        model: the ``model`` field of each request.
        api_key: sent as a bearer token; default: the ``OPENAI_API_KEY`` environment variable, and no
            ``Authorization`` header when that is unset too (local servers rarely need one).
        timeout: seconds for each attempt as a whole (connect, send, headers and body): a deadline, not a
            per-read limit, so a server dripping bytes is cut off too.
        max_retries: retries after the first attempt, for timeouts, connection errors, 429 and 5xx.
        temperature: sampling temperature (0: greedy where the server honours it).
        max_tokens: the ``max_tokens`` field (default: the server's).
        extra_body: more request fields, e.g. ``{"top_p": 0.95, "chat_template_kwargs": {...}}``.
        system_prompt: a system message before the first user message.
        backoff: the first retry's delay in seconds; it doubles at each retry, up to ``max_backoff``.
        max_backoff: the longest delay between retries (also caps a server's ``Retry-After``).
        max_response_bytes: the largest response body read; a bigger one (by its ``Content-Length``, or
            counted while reading) fails the request without being held in memory.

    Raises:
        ValueError: for a base URL that is not ``http(s)://``, or negative limits.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        extra_body: dict[str, Any] | None = None,
        system_prompt: str | None = None,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not model:
            raise ValueError("model must name the served model")
        if not 0 < timeout < math.inf or max_response_bytes < 1:
            raise ValueError("need 0 < timeout < inf (a deadline) and max_response_bytes >= 1")
        if max_retries < 0 or backoff < 0 or max_backoff < 0:
            raise ValueError("need max_retries, backoff and max_backoff >= 0")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.model = model
        self.name = f"openai:{model}"
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.timeout, self.max_retries = timeout, max_retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.max_response_bytes = max_response_bytes
        self.temperature, self.max_tokens = temperature, max_tokens
        self.extra_body = dict(extra_body or {})
        self.system_prompt = system_prompt
        #: The conversation so far, as sent to the endpoint (recorded with the episode).
        self.messages: list[dict[str, Any]] = []
        self._pending: list[str] = []
        self._fresh = True

    def check_endpoint(self) -> None:
        """Check once, before spending an eval on it, that a server answers: ``GET {base_url}/models``.

        Any HTTP answer passes, even an error status (a server is there; its errors are each request's to
        report). No API key is sent: the check is only about reachability.

        Raises:
            EndpointUnreachable: the connection is refused, the host does not resolve, or no answer comes within
                ``timeout`` seconds.

        Example:
            >>> OpenAIPolicy("http://127.0.0.1:9/v1", "m", timeout=1).check_endpoint()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
                ...
            envtune_gym.eval.endpoint.EndpointUnreachable: cannot reach http://127.0.0.1:9/v1 (...); is the server running?
        """
        request = urllib.request.Request(self.base_url + "/models", headers={"Accept": "application/json"})
        try:
            fetch(request, self.timeout, self.max_response_bytes)
        except (HTTPFailure, EndpointError):
            return  # an error status, a refused redirect or an oversized body: still a server answering
        except (OSError, http.client.HTTPException) as exc:
            raise EndpointUnreachable(
                f"cannot reach {self.base_url} ({_describe(exc)}); is the server running?"
            ) from exc

    def start(self, task_info: TaskInfo) -> None:
        """Start the conversation: the system prompt (if any), the history (if any) and the first user message."""
        self.messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        # A deep copy (plain JSON data): the messages are the policy's own, sent and recorded as they stand.
        self.messages += copy.deepcopy(list(task_info["info"].get("history") or ()))
        self.messages.append({"role": "user", "content": task_info["observation"]})
        self._pending, self._fresh = [], True

    def act(self, observation: str, info: dict[str, Any]) -> str:
        """Send the new observation, ask the endpoint for the next message, and return it as action text.

        Raises:
            EndpointError: the endpoint failed for good (see the class docstring).
        """
        if not self._fresh:
            self._add_observation(observation, info)
        self._fresh = False
        message = self._complete(info.get("tools") or [])
        content = message.get("content") if isinstance(message.get("content"), str) else ""
        tool_calls = _normalise_tool_calls(message.get("tool_calls"), len(self.messages))
        if tool_calls:
            self.messages.append({"role": "assistant", "content": content or None, "tool_calls": tool_calls})
            self._pending = [call["id"] for call in tool_calls]
            return tool_calls_to_action(tool_calls)
        self.messages.append({"role": "assistant", "content": content})
        return content

    def _add_observation(self, observation: str, info: dict[str, Any]) -> None:
        """Tool messages answering the last tool calls (one per call id), or the next user message."""
        if self._pending:
            calls = info.get("calls") or []
            for index, call_id in enumerate(self._pending):
                # A rejected action (malformed arguments...) ran no call: each id gets the error observation.
                result = calls[index]["result"] if index < len(calls) else observation
                self.messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
            self._pending = []
            if "turn_result" not in info:
                return
        self.messages.append({"role": "user", "content": observation})

    def _complete(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages,
            "temperature": self.temperature,
        }
        if tools:  # some servers reject an empty tools list
            body["tools"] = tools
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        body.update(self.extra_body)
        response = self._post(json.dumps(body).encode("utf-8"))
        try:
            message = response["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError(
                f"{self.url}: no choices[0].message in the response: {_preview(response)}"
            ) from exc
        if not isinstance(message, dict):
            raise EndpointError(f"{self.url}: choices[0].message is not an object: {_preview(message)}")
        return message

    def _post(self, data: bytes) -> dict[str, Any]:
        last: _Transient | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt - 1, last))
            try:
                return self._post_once(data, attempt + 1)
            except _Transient as exc:
                last = exc
        assert last is not None
        raise EndpointError(
            f"{self.url}: gave up after {self.max_retries + 1} attempts; last error: {last}",
            status=last.status,
            attempts=self.max_retries + 1,
        )

    def _delay(self, retry: int, error: _Transient | None) -> float:
        delay = self.backoff * 2**retry
        if error is not None and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return min(delay, self.max_backoff)

    def _post_once(self, data: bytes, attempt: int) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            payload = fetch(request, self.timeout, self.max_response_bytes)
        except HTTPFailure as exc:
            if exc.status == 429 or exc.status >= 500:
                raise _Transient(f"HTTP {exc.status}: {exc.detail}", exc.status, exc.retry_after) from exc
            raise EndpointError(
                f"{self.url}: HTTP {exc.status}: {exc.detail}", status=exc.status, attempts=attempt
            ) from exc
        except EndpointError as exc:  # a refused redirect or an oversized body: asking again would not help
            exc.attempts = attempt
            raise
        except (OSError, http.client.HTTPException) as exc:  # timeouts, refused or reset connections
            raise _Transient(_describe(exc)) from exc
        return _parse_response(payload, self.url, attempt)


def tool_calls_to_action(tool_calls: list[dict[str, Any]]) -> str:
    """OpenAI ``tool_calls`` as Hermes ``<tool_call>`` blocks; ``arguments`` strings are kept as strings.

    The env parses an ``arguments`` string as JSON itself, so a malformed one is its format error, not ours.
    """
    blocks = []
    for call in tool_calls:
        function = call.get("function") or {}
        payload = {"name": function.get("name", ""), "arguments": function.get("arguments", "{}")}
        blocks.append(f"<tool_call>\n{json.dumps(payload, ensure_ascii=False)}\n</tool_call>")
    return "\n".join(blocks)


def _normalise_tool_calls(raw: Any, position: int) -> list[dict[str, Any]]:
    """Tool calls with an id each and ``arguments`` as a string, as the request history must hold them."""
    if not isinstance(raw, list):
        return []
    calls = []
    for index, call in enumerate(item for item in raw if isinstance(item, dict)):
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):  # some servers send an object; the API's history wants a string
            arguments = json.dumps(arguments, ensure_ascii=False)
        call_id = (
            call.get("id")
            if isinstance(call.get("id"), str) and call.get("id")
            else f"call_{position}_{index}"
        )
        calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": str(function.get("name", "")), "arguments": arguments},
            }
        )
    return calls


def _parse_response(payload: bytes, url: str, attempt: int) -> dict[str, Any]:
    """The body as a JSON object of plain values, or :class:`EndpointError` naming what is wrong with it."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        # ValueError: not JSON, not UTF-8, or an integer past Python's 4,300-digit limit; RecursionError: nesting.
        raise EndpointError(
            f"{url}: the response is not usable JSON ({_describe(exc)}): {payload[:200]!r}", attempts=attempt
        ) from None
    problem = _json_problem(data)
    if problem is None and not isinstance(data, dict):
        problem = f"the response is not a JSON object: {_preview(data)}"
    if problem is not None:
        raise EndpointError(f"{url}: {problem}", attempts=attempt)
    return data


def _json_problem(value: Any) -> str | None:
    """Why a parsed response is unsafe to keep (too deep, or text that is not Unicode); ``None`` if it is fine.

    Walked with an explicit stack, since deep nesting is exactly what must not reach recursive code.

    Example:
        >>> _json_problem({"a": [1, "b"]}) is None, _json_problem(json.loads("[" * 200 + "]" * 200))
        (True, 'the response nests deeper than 100 levels')
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)) and depth > MAX_JSON_DEPTH:
            return f"the response nests deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and _SURROGATE.search(item):
            return "the response holds a lone surrogate escape (\\ud800-\\udfff), which is not text"
    return None


def _describe(error: BaseException) -> str:
    """``Type: message`` of an error, through urllib's wrapper to the socket error it holds; one line."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def _preview(value: Any) -> str:
    """The start of a parsed value, for an error message (values are depth-checked before they get here)."""
    return json.dumps(value)[:300]
