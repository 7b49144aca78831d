"""The sandbox clinic's HTTP plumbing: a threading server that tracks its connections (so
that stopping drops kept-alive clients), and a handler that reads a bounded body, hands the
request to the clinic and writes its reply, stalled or dropped when a fault says so. Every
refusal, http.server's own included, is a JSON {"message"} answer."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_DRAIN_BYTES = 4 * 1024 * 1024


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # stall this long before answering
    drop: bool = False  # after the stall, close the connection without answering
    close: bool = False  # close the connection after answering


def json_reply(status: int, data: Any, **headers: str) -> Reply:
    return Reply(status, json.dumps(data).encode(), headers=dict(headers))


def message_reply(status: int, message: str, **headers: str) -> Reply:
    return json_reply(status, {"message": message}, **headers)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Server(ThreadingHTTPServer):
    daemon_threads = True
    handle: Callable[[Request], Reply]  # the clinic's answer to a request
    stopping: threading.Event  # set while the clinic stops: stalled replies are dropped

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("connection already closed")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer is normal here (timeouts are injected on purpose).
        log.debug("sandbox connection from %s ended with an error", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SandboxVetstoria/1.0"
    timeout = 60  # idle kept-alive connections give their thread back after this
    server: Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle's algorithm and the
        # peer's delayed ACK add about 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        reply = self._read_body_problem()
        if reply is None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(self.command, self.path, headers, self._body)
            try:
                reply = self.server.handle(request)
            except Exception:
                log.exception("sandbox clinic failed on a request")
                reply = message_reply(500, "internal error in the sandbox clinic")
        if reply.delay_s and self.server.stopping.wait(reply.delay_s):
            reply.drop = True
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(reply.body)
        except OSError:
            log.debug("the client left before the answer was written")

    def _read_body_problem(self) -> Reply | None:
        """Read the body into self._body, or a reply refusing it (the connection then closes)."""
        self._body = b""
        if self.headers.get("Transfer-Encoding"):
            reply = message_reply(400, "chunked bodies are not supported; send Content-Length")
            reply.close = True
            return reply
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return None
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            reply = message_reply(400, "Content-Length is not a valid number")
            reply.close = True
            return reply
        if length > MAX_BODY_BYTES:
            # Drain a moderately large body so that the client reads the 413 rather than a
            # reset connection; anything huge is cut off.
            if length <= MAX_DRAIN_BYTES:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 65536))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            reply = message_reply(413, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
            reply.close = True
            return reply
        self._body = self.rfile.read(length)
        return None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a garbled request line, an unknown method) as JSON too."""
        body = json.dumps({"message": message or HTTPStatus(code).phrase}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox http: " + format, *args)
