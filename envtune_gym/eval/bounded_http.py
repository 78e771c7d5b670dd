"""Bounded HTTP for the endpoint client: a deadline for a whole request, a cap on the body, same-origin redirects.

A server's bytes are untrusted. urllib's ``timeout`` bounds each socket read, so a server that drips a byte a
second holds a request for as long as it likes; here a timer shuts the socket when the attempt's deadline
passes, whatever read is blocked. Bodies are counted as they arrive (and a declared ``Content-Length`` over the
cap is refused unread). A redirect is followed only within the origin of the request, so the API key in its
``Authorization`` header never reaches another host.
"""

from __future__ import annotations

import functools
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from types import TracebackType
from typing import Any

from envtune_gym.eval.policies import PolicyError

# Bytes read at a time; the deadline is checked between reads.
_CHUNK = 64 * 1024


class EndpointError(PolicyError):
    """The endpoint failed for good: a non-retryable HTTP error, a malformed response, or retries spent.

    Attributes:
        status: the HTTP status of the last response, ``None`` when there was none (timeout, connection).
        attempts: how many requests were made.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class HTTPFailure(Exception):
    """An HTTP error status, with the start of its body (read within the request's deadline)."""

    def __init__(self, status: int, detail: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail, self.retry_after = status, detail, retry_after


class _Deadline:
    """A deadline for one whole request: when it passes, the request's sockets are shut down.

    A socket timeout bounds each read, not their sum, so a server sending a byte a second would never trip it.
    The timer thread's ``shutdown`` wakes whatever read is blocked (status line, headers, TLS, body), which
    then fails; :attr:`expired` tells the caller that the deadline, not the server, ended it. The sockets are
    watched through duplicates of their descriptors, which stay ours until the deadline closes, so a late timer
    can never shut a descriptor number reused by another connection.

    Example:
        >>> with _Deadline(30.0) as deadline:
        ...     0 < deadline.remaining() <= 30.0, deadline.expired
        (True, False)
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._ends = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self._ends - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock``'s connection down when the deadline passes (at once if it has)."""
        with self._lock:
            self._sockets.append(sock.dup())
            if self.expired:
                _shut(self._sockets[-1])

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer


class _WatchedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket a :class:`_Deadline` watches from the moment it connects."""

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        # http.client opens its socket through this attribute (after a proxy, before TLS): watch it from there.
        self._create_connection = self._connect_watched

    def _connect_watched(
        self, address: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        remaining = self._deadline.remaining()
        if remaining <= 0:
            raise TimeoutError(f"timed out: no whole response within {self._deadline.seconds:g} s")
        limit = remaining if not isinstance(timeout, (int, float)) else min(timeout, remaining)
        sock = socket.create_connection(address, limit, source_address)
        self._deadline.watch(sock)
        return sock


class _WatchedHTTPSConnection(_WatchedHTTPConnection, http.client.HTTPSConnection):
    """The HTTPS kind: the raw socket is watched, so the TLS handshake is under the deadline too."""


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_WatchedHTTPConnection, deadline=self._deadline), req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_WatchedHTTPSConnection, deadline=self._deadline)
        return self.do_open(connection, req, context=self._context)


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the request's origin, where the ``Authorization`` header may go.

    A redirect to another origin (scheme, host or port) is refused before anything is sent there. Within the
    origin, a GET follows any redirect, and a POST follows 307 and 308 (sent again with its body); a POST's 301,
    302 and 303 are refused: they would turn it into a GET, which cannot return a completion.
    """

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        method = req.get_method()
        if _origin(newurl) != _origin(req.full_url):
            fp.close()
            raise EndpointError(
                f"{req.full_url}: HTTP {code} redirect to another origin, {_origin_text(newurl)}; not followed, "
                "so that the API key is not sent there (use the final URL as the base URL)",
                status=code,
            )
        if method in ("GET", "HEAD"):
            return super().redirect_request(req, fp, code, msg, headers, newurl)
        if code in (307, 308):
            return urllib.request.Request(
                newurl, data=req.data, headers=dict(req.header_items()), method=method,
                origin_req_host=req.origin_req_host, unverifiable=True,
            )  # fmt: skip
        fp.close()
        raise EndpointError(
            f"{req.full_url}: HTTP {code} redirect to {newurl} would turn the {method} into a GET; not followed "
            "(use the final URL as the base URL)",
            status=code,
        )


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in.

    Example:
        >>> _origin("HTTPS://API.example.com/v1") == _origin("https://api.example.com:443/x")
        True
    """
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a malformed port: an origin of its own, matching nothing real
        return (parts.scheme.lower(), parts.netloc.lower(), -1)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port if port is not None else default)


def _origin_text(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


def fetch(request: urllib.request.Request, timeout: float, max_bytes: int) -> bytes:
    """The body of a 2xx answer to ``request``, all of it within ``timeout`` seconds and ``max_bytes`` bytes.

    Raises:
        TimeoutError: the deadline passed (whatever stage the request was at).
        HTTPFailure: an error status, with the start of its body.
        EndpointError: a refused redirect, or a body over ``max_bytes``.
        OSError, http.client.HTTPException: the connection failed.
    """
    with _Deadline(timeout) as deadline:
        opener = urllib.request.build_opener(
            _WatchedHTTPHandler(deadline), _WatchedHTTPSHandler(deadline), _SameOriginRedirects()
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                payload = _read_capped(response, max_bytes, request.full_url)
        except urllib.error.HTTPError as exc:
            with exc:
                detail = _error_detail(exc)
            if not deadline.expired:
                raise HTTPFailure(exc.code, detail, _retry_after(exc)) from None
        except (OSError, http.client.HTTPException):
            if not deadline.expired:
                raise
        if deadline.expired:  # a shut socket may also read as a clean end: never trust what came before it
            raise TimeoutError(f"timed out: no whole response within {timeout:g} s")
    return payload


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, url: str) -> bytes:
    """The whole body, refused unread when its Content-Length is over ``max_bytes`` and counted as it comes."""
    declared = _declared_length(response.headers.get("Content-Length"))
    if declared is not None and declared > max_bytes:
        raise EndpointError(
            f"{url}: the response is {declared} bytes, over the {max_bytes}-byte limit; not read"
        )
    chunks, size = [], 0
    while chunk := response.read1(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise EndpointError(f"{url}: the response is over the {max_bytes}-byte limit; stopped reading")
        chunks.append(chunk)
    return b"".join(chunks)


def _declared_length(value: str | None) -> int | None:
    """A Content-Length as a number; ``None`` when absent or not digits. A huge one stays huge (no digit limit).

    Example:
        >>> _declared_length("300000000"), _declared_length("x"), _declared_length("9" * 5000) > 2**40
        (300000000, None, True)
    """
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    # Past 18 digits it is over any limit; int() of thousands of digits would hit Python's digit cap.
    return int(text) if len(text) <= 18 else 10**18


def _error_detail(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(500).decode("utf-8", errors="replace").strip() or str(error.reason)
    except (OSError, http.client.HTTPException):
        return str(error.reason)


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
