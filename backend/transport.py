"""Transports of the backend client: a spawned process (stdio) or a socket (TCP), and the TLS
bridge that both the client and the server put in front of a TLS socket.

STANDARD LIBRARY ONLY (imported inside Blender's Python).

OpenSSL forbids reading and writing one TLS connection from two threads at once; the
``TlsBridge`` owns the TLS socket on one thread and offers a plain socket pair to the rest.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import BinaryIO

from .protocol import IO_CHUNK_BYTES

KILL_TIMEOUT_S = 2.0
EXIT_WAIT_S = 1.0                # how long to wait for an exit code after EOF
LOG_TAIL_BYTES = 4000
TLS_BUFFER_BYTES = 4 * IO_CHUNK_BYTES   # plaintext a TLS bridge holds per direction
TLS_SELECT_S = 0.2               # the TLS bridge re-checks both directions at least this often
OOM_HINT = "killed — possibly out of memory"


class _Transport:
    """Byte streams to the server plus how to end them."""
    reader: BinaryIO
    writer: BinaryIO

    def alive(self) -> bool:
        raise NotImplementedError

    def close(self, timeout: float) -> None:
        """End the peer (process exit / socket shutdown) so that the reader sees EOF."""
        raise NotImplementedError

    def release(self) -> None:
        """Close the streams (after the reader thread is done with them)."""
        for stream in (self.writer, self.reader):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def describe_death(self) -> str:
        """Why the stream ended, for error messages."""
        raise NotImplementedError

    def kill(self) -> None:
        """End a peer that no longer answers, at once."""
        self.close(0.0)

    def busy(self) -> bool:
        """True if the silent peer is known to be working (see ``_ProcessTransport``)."""
        return False


class _ProcessTransport(_Transport):
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path
        self.reader = process.stdout
        self.writer = process.stdin

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, timeout: float) -> None:
        try:
            self.writer.close()            # EOF on the server's stdin ends its session
        except OSError:
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(KILL_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def busy(self) -> bool:
        """Linux: True if a thread of the process is running or waiting for the disk and none
        is stopped. A C extension that holds the GIL for seconds (the first, cold ``import
        torch``) silences the heartbeat thread of a process that is not hung; a stopped
        (SIGSTOP) or deadlocked one has no running thread."""
        states = []
        for stat in Path(f"/proc/{self.process.pid}/task").glob("*/stat"):
            try:
                states.append(stat.read_text().rpartition(")")[2].split()[0])
            except (OSError, IndexError):
                continue
        return any(s in "RD" for s in states) and not any(s in "Tt" for s in states)

    def kill(self) -> None:
        """SIGKILL works on a stopped (SIGSTOP) or frozen process, where terminate waits."""
        if self.process.poll() is None:
            self.process.kill()
        self.close(KILL_TIMEOUT_S)

    def describe_death(self) -> str:
        try:
            code = self.process.wait(EXIT_WAIT_S)
            status = f"the backend process exited with code {code}{describe_signal(code)}"
        except subprocess.TimeoutExpired:
            status = "the backend process closed its output"
        tail = self.log_tail()
        return f"{status}; log {self.log_path}:\n{tail}" if tail else \
            f"{status}; its log {self.log_path} is empty"


def describe_signal(returncode: int | None) -> str:
    """`` (killed by SIGKILL: killed — possibly out of memory)`` for a process ended by a
    signal (negative return code), else ""."""
    if returncode is None or returncode >= 0:
        return ""
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    hint = f": {OOM_HINT}" if returncode == -getattr(signal, "SIGKILL", 9) else ""
    return f" (killed by {name}{hint})"


class _SocketTransport(_Transport):
    def __init__(self, sock: socket.socket, address: str, bridge: "TlsBridge | None" = None):
        self.sock = sock              # the plain socket the protocol runs on
        self.address = address
        self.bridge = bridge          # TLS: relays between ``sock`` and the TLS connection
        self.reader = sock.makefile("rb")
        self.writer = sock.makefile("wb")
        self._closed = False

    def alive(self) -> bool:
        return not self._closed

    def close(self, timeout: float) -> None:
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)   # wakes the reader thread
        except OSError:
            pass

    def release(self) -> None:
        super().release()
        self.sock.close()

    def describe_death(self) -> str:
        return f"the backend at {self.address} closed the connection"


class TlsBridge:
    """Carries the plaintext of a TLS connection over a local socket pair, every TLS call on
    one thread: OpenSSL forbids reading and writing one SSL object from two threads at once,
    and both ends of this protocol read on one thread while others write.

    ``plain`` is the application's end, an ordinary blocking socket. When the TLS peer closes,
    ``plain`` reads EOF; when the application shuts ``plain`` down, the TLS connection is
    closed. At most ``TLS_BUFFER_BYTES`` wait in each direction (back-pressure)."""

    def __init__(self, tls: ssl.SSLSocket, name: str = "tls"):
        self.plain, self._inner = socket.socketpair()
        self._tls = tls
        tls.setblocking(False)
        self._inner.setblocking(False)
        self._thread = threading.Thread(target=self._pump, name=f"anima-{name}-bridge",
                                        daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            self._relay()
        except (OSError, ValueError):
            pass                               # reset / closed: the application reads EOF
        finally:
            for end in (self._inner, self._tls):
                try:
                    end.close()
                except OSError:
                    pass

    def _relay(self) -> None:
        to_tls, to_app = bytearray(), bytearray()
        tls_open = app_open = True             # still reading from each side
        while app_open or to_tls:
            if tls_open and len(to_app) < TLS_BUFFER_BYTES:
                tls_open = self._read_tls(to_app)
            if app_open and len(to_tls) < TLS_BUFFER_BYTES:
                try:
                    data = self._inner.recv(IO_CHUNK_BYTES)
                    app_open = bool(data)
                    to_tls += data
                except BlockingIOError:
                    pass
            if to_tls:
                try:
                    del to_tls[:self._tls.send(to_tls[:IO_CHUNK_BYTES])]
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
            if to_app:
                try:
                    del to_app[:self._inner.send(to_app)]
                except BlockingIOError:
                    pass
            if not tls_open and not to_app and not to_tls:
                return       # the peer is gone and all it sent was delivered: EOF for the app
            readers = ([self._tls] if tls_open and len(to_app) < TLS_BUFFER_BYTES else []) + \
                      ([self._inner] if app_open and len(to_tls) < TLS_BUFFER_BYTES else [])
            writers = ([self._tls] if to_tls else []) + ([self._inner] if to_app else [])
            if not (self._tls.pending() and len(to_app) < TLS_BUFFER_BYTES):
                select.select(readers, writers, [], TLS_SELECT_S)   # else: decrypted data waits

    def _read_tls(self, into: bytearray) -> bool:
        """Append what the TLS side has decrypted; False once the peer closed."""
        try:
            while len(into) < TLS_BUFFER_BYTES:
                data = self._tls.recv(IO_CHUNK_BYTES)
                if not data:
                    return False
                into += data
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except ssl.SSLZeroReturnError:
            return False
        return True
