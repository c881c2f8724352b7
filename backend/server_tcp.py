"""TCP serving of the backend: ``serve --tcp HOST:PORT [--tls-cert F --tls-key F]``.

Accepts connections forever, one thread per connection running a ``Session``, all sessions
sharing one ``JobRunner`` (one job at a time, round-robin across sessions). With TLS, the
handshake runs on the connection's thread (within ``TCP_HANDSHAKE_TIMEOUT_S``) and then a
``TlsBridge`` carries the plaintext, so that every TLS call happens on one thread. After the
hello, a kernel send timeout (``--stalled-client-s``) drops a client that stops reading.
A connection thread never dies with a traceback: whatever goes wrong is logged in one line.
"""
from __future__ import annotations

import logging
import os
import socket
import ssl
import struct
import sys
import threading
import time
from pathlib import Path

from .transport import TlsBridge
from .job_runner import JobRunner
from .server import (LISTENING_MARKER, SHUTDOWN_GRACE_S, TCP_HANDSHAKE_TIMEOUT_S, EXIT_OK,
                     ServerConfig, ServerStartError, Session)

log = logging.getLogger("backend.server")


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """Server-side TLS (1.2 or later) with the given PEM certificate chain and private key."""
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as e:
        raise ServerStartError(f"cannot use --tls-cert {cert} / --tls-key {key}: {e}") from e
    if os.name == "posix" and Path(key).stat().st_mode & 0o077:
        log.warning("TLS key %s is readable by other users; chmod 600 it", key)
    return context


def serve_tcp(config: ServerConfig, host: str, port: int, token: str,
              tls: ssl.SSLContext | None = None) -> int:
    """Accept connections forever (until interrupted), one session thread each. Raises
    ``OSError`` if it cannot listen on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = socket.create_server((host, port), family=family)      # OSError: port in use
    runner = JobRunner(config)
    with server:
        bound_host, bound_port = server.getsockname()[:2]
        log.info("listening on %s:%s%s", bound_host, bound_port, " (TLS)" if tls else "")
        print(f"{LISTENING_MARKER} {bound_host} {bound_port}", file=sys.stderr, flush=True)
        try:
            while True:
                try:
                    conn, peer = server.accept()
                except OSError as e:            # e.g. out of file descriptors: go on
                    log.error("accept failed: %s", e)
                    time.sleep(0.1)
                    continue
                threading.Thread(target=_serve_connection, args=(conn, peer, config, runner,
                                                                 token, tls),
                                 name=f"anima-session-{peer[1]}", daemon=True).start()
        except KeyboardInterrupt:
            log.info("interrupted")
    runner.stop(SHUTDOWN_GRACE_S)
    return EXIT_OK


def _serve_connection(conn: socket.socket, peer: tuple, config: ServerConfig,
                      runner: JobRunner, token: str, tls: ssl.SSLContext | None) -> None:
    """One TCP session; never raises (a connection thread must not die with a traceback)."""
    name = f"tcp {peer[0]}:{peer[1]}"
    log.info("%s: connected", name)
    bridge = None
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(TCP_HANDSHAKE_TIMEOUT_S)
        if tls is not None:
            try:
                bridge = TlsBridge(tls.wrap_socket(conn, server_side=True), name=name)
            except (ssl.SSLError, OSError) as e:
                log.warning("%s: TLS handshake failed: %s", name, e)
                return
            conn = bridge.plain
            conn.settimeout(TCP_HANDSHAKE_TIMEOUT_S)
        _run_session(conn, name, config, runner, token)
    except Exception as e:  # noqa: BLE001 - logged, the server goes on
        log.error("%s: session ended by an internal error: %s: %s", name, type(e).__name__, e)
        log.debug("%s: traceback", name, exc_info=True)
    finally:
        try:
            conn.close()
        except OSError:
            pass
        log.info("%s: closed", name)


def _run_session(conn: socket.socket, name: str, config: ServerConfig, runner: JobRunner,
                 token: str) -> None:
    reader, writer = conn.makefile("rb"), conn.makefile("wb")

    def after_hello() -> None:
        conn.settimeout(None)          # an idle client is fine ...
        _limit_send_stall(conn, config.send_stall_s)   # ... one that stops reading is not

    def broken() -> None:
        try:
            conn.shutdown(socket.SHUT_RDWR)     # the session's reader sees EOF and ends
        except OSError:
            pass

    try:
        Session(reader, writer, config, runner, token=token, blobs=True,
                on_handshake=after_hello, name=name, on_broken=broken).serve()
    finally:
        for f in (reader, writer):
            try:
                f.close()
            except OSError:
                pass


def _limit_send_stall(conn: socket.socket, seconds: int) -> None:
    """Kernel send timeout (POSIX ``SO_SNDTIMEO``): a write that makes no progress for
    ``seconds`` fails, the session ends and its jobs are cancelled, instead of a frozen
    client (a stopped Blender) blocking the job worker, and so every other client."""
    if os.name != "posix":
        return
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, 0))
    except (OSError, struct.error) as e:
        log.debug("cannot set a send timeout: %s", e)
