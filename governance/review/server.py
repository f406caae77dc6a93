"""Serving an ASGI app with uvicorn in a background thread (tests, benchmarks, the demo);
`proctor serve` runs the review service in the foreground instead."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def tcp_socket() -> socket.socket:
    """A TCP socket for a server to listen on.

    Made with an explicit IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only
    when the listening socket says it is TCP, and without it every answer written in two parts
    (headers, body) waits ~40 ms for the client's delayed ACK (Nagle's algorithm).
    """
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)


@contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve any ASGI `app` with uvicorn in a background thread; yields its base URL."""
    import uvicorn

    sock = tcp_socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    # The caller's context (e.g. Prefect's temporary settings) goes with the service's thread.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(server.run,), kwargs={"sockets": [sock]},
                              daemon=True, name="asgi-server")
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
