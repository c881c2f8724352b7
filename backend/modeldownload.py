"""Downloading a listed model: the model list (assets/models/available.json) and a resumable,
cancellable, SHA-256-checked download. Standard library only (it runs inside Blender).

    models = load_manifest(path)                        # [AvailableModel]
    dl = Download(url, user_dir / "x.pt", sha256, size, online_access=True).start()
    dl.state, dl.progress, dl.message                   # read from the UI; dl.cancel()
"""
from __future__ import annotations

import http.client
import json
import os
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .modelstore import ModelStoreError, check_model_name, file_sha256

MANIFEST_FORMAT = "anima-model-manifest"


class _Refused(ModelStoreError):
    """The server sent what the model list does not describe: the partial file goes."""


@dataclass
class AvailableModel:
    """A manifest entry: a checkpoint that can be downloaded."""
    id: str
    family: str
    url: str
    sha256: str
    size: int
    licence: str
    title: str = ""
    note: str = ""


def load_manifest(path) -> list[AvailableModel]:
    """The entries of assets/models/available.json; ModelStoreError naming a bad entry."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelStoreError(f"{path}: unreadable model list ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise ModelStoreError(f"{path}: not an Anima model list (format {MANIFEST_FORMAT!r})")
    out = []
    for k, item in enumerate(doc.get("models") or []):
        try:
            entry = AvailableModel(**{f: item[f] for f in ("id", "family", "url", "sha256",
                                                           "size", "licence")},
                                   title=str(item.get("title", "")),
                                   note=str(item.get("note", "")))
            check_model_name(entry.id)
            if not re.fullmatch(r"[0-9a-f]{64}", entry.sha256):
                raise ValueError("sha256 must be 64 lower-case hex digits")
            if not isinstance(entry.size, int) or entry.size <= 0:
                raise ValueError("size must be a positive number of bytes")
            if not entry.url.startswith(("https://", "http://")):
                raise ValueError("url must be http(s)")
        except (KeyError, TypeError, ValueError, ModelStoreError) as e:
            raise ModelStoreError(f"{path}: model entry {k}: {e}") from None
        out.append(entry)
    return out


class Download:
    """One download into `dest` through `dest.part` (kept between attempts: a later Download
    of the same file resumes it with an HTTP Range request). The file is renamed to `dest`
    only once its SHA-256 matches. Run it with start() (a thread) or run(); read state,
    done_bytes, size, message; cancel() stops it at the next chunk."""

    RETRIES = 3

    def __init__(self, url: str, dest, sha256: str, size: int | None = None, *,
                 online_access: bool, timeout: float = 30.0):
        if not online_access:
            raise ModelStoreError("Online access is disabled (Blender: Preferences > System "
                                  "> Network > Allow Online Access): nothing was downloaded. "
                                  "Download the file yourself and use Import instead")
        if not url.startswith(("http://", "https://")):
            raise ModelStoreError(f"only http(s) downloads are supported, not {url!r}")
        self.url, self.dest, self.sha256 = url, Path(dest), sha256.lower()
        self.part = self.dest.with_name(self.dest.name + ".part")
        self.size, self.timeout = size, timeout
        self.done_bytes = 0
        self.state, self.message = "waiting", ""
        self.resumed_from = None                  # bytes already there at the last attempt
        self._cancel = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def progress(self) -> float:
        return min(1.0, self.done_bytes / self.size) if self.size else 0.0

    def cancel(self) -> None:
        self._cancel.set()

    def start(self) -> "Download":
        self.thread = threading.Thread(target=self.run, name="anima-download", daemon=True)
        self.thread.start()
        return self

    def run(self) -> None:
        self.state = "running"
        try:
            if self.dest.exists():
                if file_sha256(self.dest) != self.sha256:
                    raise ModelStoreError(f"a different file {self.dest.name} is already "
                                          f"installed: remove it first")
            else:
                self._fetch()
                self.message = "checking the SHA-256"
                got = file_sha256(self.part, self._cancel)
                if got != self.sha256:
                    self.part.unlink()
                    raise ModelStoreError(f"the download's SHA-256 is {got[:12]}..., expected "
                                          f"{self.sha256[:12]}...: the file was discarded")
                os.replace(self.part, self.dest)
            self.state, self.message = "done", f"{self.dest.name} installed"
        except ModelStoreError as e:
            if isinstance(e, _Refused) and self.part.exists():
                self.part.unlink()                 # more bytes than the list says: not ours
            cancelled = self._cancel.is_set()
            self.state = "cancelled" if cancelled else "failed"
            self.message = "cancelled (the partial file is kept to resume)" if cancelled \
                else str(e)
        except OSError as e:
            self.state, self.message = "failed", f"cannot write {self.part}: {e.strerror or e}"

    def _fetch(self) -> None:
        for attempt in range(self.RETRIES + 1):
            try:
                return self._attempt()
            except (OSError, http.client.HTTPException) as e:     # URLError is an OSError
                if isinstance(e, urllib.error.HTTPError) or attempt == self.RETRIES:
                    raise ModelStoreError(f"download of {self.url} failed: {e}") from None
                if self._cancel.wait(0.5 * (attempt + 1)):     # a pause, unless cancelled
                    raise ModelStoreError("cancelled") from None

    def _write(self, f, chunk: bytes) -> None:
        """Append `chunk` (b"": flush to disk); a full or failing disk is not retried."""
        try:
            if chunk:
                f.write(chunk)
            else:
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise ModelStoreError(f"cannot write {self.part}: {e.strerror or e}") from None

    def _attempt(self) -> None:
        have = self.part.stat().st_size if self.part.exists() else 0
        self.resumed_from = have
        if self.size is not None and have >= self.size:
            self.done_bytes = have
            return
        req = urllib.request.Request(self.url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:                 # nothing left: the part is whole
                self.done_bytes = have
                return
            raise
        with resp:
            ranged = resp.status == 206
            if have and not ranged:
                have = 0                               # the server ignored the Range: restart
            start = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range") or "")
            if ranged and (start is None or int(start.group(1)) != have):
                raise ModelStoreError(f"the server answered the request for bytes {have}- "
                                      f"with {resp.headers.get('Content-Range')!r}")
            total = resp.headers.get("Content-Length")
            if total is not None and self.size is not None and have + int(total) > self.size:
                raise _Refused(f"the server sends {have + int(total)} bytes, the model list "
                               f"says {self.size}: refused")
            self.done_bytes = have
            self.message = f"downloading {self.dest.name}"
            with open(self.part, "ab" if have else "wb") as f:
                while chunk := resp.read(64 << 10):
                    if self._cancel.is_set():
                        raise ModelStoreError("cancelled")
                    self.done_bytes += len(chunk)
                    if self.size is not None and self.done_bytes > self.size:
                        raise _Refused(f"the server sends more than the {self.size} bytes "
                                       f"expected: refused")
                    self._write(f, chunk)
                self._write(f, b"")
            if total is not None and self.done_bytes < have + int(total):
                raise ConnectionError("the connection closed early")
