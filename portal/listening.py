"""How ``leadshelf serve`` listens: the socket is bound before anything is announced, so a
taken port is one error line and nothing else, and uvicorn then serves on that very socket
(one process, or ``workers`` processes sharing it) instead of binding a second time."""

from __future__ import annotations

import socket
from typing import Any


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` as uvicorn binds one (IPv6 when the host has a
    colon; the address reusable after a restart); raises ``OSError`` when that fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)  # worker processes serve on it too
    return sock


def serve(sock: socket.socket, **options: Any) -> bool:
    """Run uvicorn on the bound socket until it stops; ``options`` are ``uvicorn.Config``'s.
    Returns False when a single server failed to start (uvicorn has logged why)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(**options)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
            return True
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
        return server.started
    except KeyboardInterrupt:
        return True
    finally:
        sock.close()
