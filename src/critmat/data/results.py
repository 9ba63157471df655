"""Results kept on disk between runs: the persistent tier of the knowledge base's cache.

A second ``critmat assess`` (or report) on unchanged data should not compute again what
the first one computed. Values named persistent (``@memoised(name, persist=True)``, and
the report's sections) are kept as files under ``<user data directory>/cache/``, one file
per value, named by the SHA-256 of their key. The key holds everything the value depends
on, so a file is never read for other inputs:

* the function's name and its arguments (:func:`critmat.data.cache.freeze`);
* the state of the data (:meth:`KnowledgeBase.state_key`): the embedded dataset's content
  hash, the user data manifest of the knowledge base's snapshot (every table file with its
  checksum), the critmat version and a fingerprint of its source files (name, size and
  modification time of every module), and the versions of Python, numpy, pandas and
  pyarrow (the file format of the values).

Importing or removing user data changes the manifest, hence every key: the files of the
old state are no longer read, and the oldest files are removed once the folder exceeds
its size limit (``CRITMAT_CACHE_MAX_MB``, default 256 MB).

Safety
------
* A file is written to a temporary name and moved into place (``os.replace``): a reader
  sees a whole file or none; two processes writing the same value both succeed.
* Every file holds a checksum of its content; a damaged or truncated file is deleted and
  the value computed again (never an error).
* A folder that cannot be written (read-only, full disk, permission) only means the value
  is not kept; the command's result is the same.
* The files are Python pickles of critmat's own results, in the user's own data
  directory (created with mode 0700): the same trust as the data files next to them. On
  POSIX a file is read only when it and the folder belong to the user running critmat and
  neither can be written by others (as ``ssh`` treats its keys): in a folder shared with
  other accounts nothing is read back or kept, and every value is computed.

``CRITMAT_CACHE=off`` (or ``0``/``no``/``false``) turns the persistent tier off;
``critmat data cache`` shows the folder and ``critmat data cache --clear`` empties it.

Examples
--------
>>> import tempfile, pathlib
>>> store = ResultStore(pathlib.Path(tempfile.mkdtemp()) / "cache")
>>> key = digest("answer", 42)
>>> store.get(key) is None
True
>>> store.put(key, b"payload"), store.get(key)
(True, b'payload')
>>> store.info()["files"]
1
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_ENV",
    "MAX_MB_ENV",
    "ResultStore",
    "cache_enabled",
    "code_fingerprint",
    "digest",
    "limit_problem",
    "results_folder",
]

#: Environment variable turning the persistent tier off (``off``, ``0``, ``no``, ``false``).
CACHE_ENV = "CRITMAT_CACHE"
#: Environment variable with the size limit of the folder, in MB (default 256).
MAX_MB_ENV = "CRITMAT_CACHE_MAX_MB"
_DEFAULT_MAX_MB = 256.0
_MAGIC = b"critmat-result-v1\n"
_SUFFIX = ".result"
_CHECKSUM = 32  # bytes of SHA-256 after the magic line


def results_folder(user_root: str | os.PathLike[str]) -> Path:
    """The folder of the kept results of a user data directory: its ``cache/``."""
    return Path(user_root) / "cache"


def cache_enabled() -> bool:
    """Whether the persistent tier is on (``CRITMAT_CACHE`` is not ``off``/``0``/...)."""
    return os.environ.get(CACHE_ENV, "").strip().lower() not in {"off", "0", "no", "false"}


def limit_problem() -> str | None:
    """What is wrong with ``CRITMAT_CACHE_MAX_MB`` (``None`` when unset or a number >= 0)."""
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    try:
        if not raw or float(raw) >= 0:
            return None
    except ValueError:
        pass
    return (
        f"{MAX_MB_ENV}={raw!r} is not a size in MB (a number >= 0, e.g. 256); "
        f"using {_DEFAULT_MAX_MB:g}"
    )


def _max_bytes() -> float:
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    try:
        mb = float(raw) if raw else _DEFAULT_MAX_MB
    except ValueError:
        mb = _DEFAULT_MAX_MB
    if not mb >= 0:  # negative or NaN: the default (limit_problem() says so)
        mb = _DEFAULT_MAX_MB
    return mb * 1e6


def digest(*parts: Any) -> str:
    """SHA-256 (hex) of the ``repr`` of ``parts`` (frozen keys have a stable ``repr``).

    Examples
    --------
    >>> digest("a", 1) == digest("a", 1) != digest("a", 2)
    True
    """
    return hashlib.sha256(repr(parts).encode("utf-8", "backslashreplace")).hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """Fingerprint of critmat's source files: relative name, size and mtime of each module.

    Computed once per process (a few hundred ``stat`` calls). A changed module, as in an
    editable install under development, changes the fingerprint and so every key.
    """
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        try:
            st = path.stat()
        except OSError:
            continue
        h.update(f"{path.relative_to(root).as_posix()}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def _owned(st: os.stat_result) -> bool:
    """Whether a file or folder belongs to this process's user and only they can write it."""
    uid = getattr(os, "getuid", None)
    if uid is None:  # no POSIX ownership (Windows): the user profile's permissions apply
        return True
    return st.st_uid == uid() and not st.st_mode & 0o022


class ResultStore:
    """A folder of results, one file per key digest (see the module docstring).

    Parameters
    ----------
    root
        The folder (created on the first write, mode 0700).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) < 16 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a result key digest: {key!r}")
        return self.root / f"{key}{_SUFFIX}"

    def trusted(self) -> bool:
        """Whether the folder may hold results: the user's own, not writable by others.

        Always ``True`` where the platform has no user ids (Windows). A folder that does not
        exist yet is trusted (it is created with mode 0700).
        """
        try:
            st = self.root.stat()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return _owned(st)

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None``.

        ``None`` when there is no such file, or it is damaged, unreadable or not trusted
        (:meth:`trusted`): the caller then computes the value.
        """
        path = self._path(key)
        if not self.trusted():
            return None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as fh:
                if not _owned(os.fstat(fh.fileno())):
                    return None  # another account's file: never unpickled
                blob = fh.read()
        except OSError:
            return None
        head = len(_MAGIC) + _CHECKSUM
        payload = blob[head:]
        if (
            len(blob) < head
            or not blob.startswith(_MAGIC)
            or hashlib.sha256(payload).digest() != blob[len(_MAGIC) : head]
        ):
            self.discard(key)  # damaged or not ours: compute again
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the size limit removes the oldest first
        return payload

    def put(self, key: str, payload: bytes) -> bool:
        """Store ``payload`` under ``key``; ``False`` when the folder cannot be written."""
        path = self._path(key)
        tmp = self.root / f".{key[:16]}-{secrets.token_hex(6)}.tmp"
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.trusted():
                return False
            # 0600 whatever the umask (a umask of 002 would make it group-writable)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC)
                fh.write(hashlib.sha256(payload).digest())
                fh.write(payload)
            tmp.replace(path)
        except OSError:  # read-only folder, full disk, permissions: the value is not kept
            with contextlib.suppress(OSError):
                tmp.unlink()
            return False
        self._prune(keep=path)
        return True

    def discard(self, key: str) -> None:
        """Remove the file of ``key`` if there is one."""
        with contextlib.suppress(OSError):
            self._path(key).unlink()

    def _files(self) -> list[tuple[float, int, Path]]:
        out = []
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        for e in entries:
            if e.name.endswith(_SUFFIX):
                with contextlib.suppress(OSError):
                    st = e.stat()
                    out.append((st.st_mtime, st.st_size, Path(e.path)))
        return out

    def _prune(self, keep: Path) -> None:
        """Remove the least recently used files while the folder exceeds its limit."""
        files = self._files()
        total = sum(size for _, size, _ in files)
        limit = _max_bytes()
        for _, size, path in sorted(files):
            if total <= limit:
                break
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size

    def clear(self) -> int:
        """Remove every stored result (and stale temporary files); returns how many."""
        n = 0
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return 0
        for e in entries:
            if e.name.endswith(_SUFFIX) or (e.name.startswith(".") and e.name.endswith(".tmp")):
                with contextlib.suppress(OSError):
                    Path(e.path).unlink()
                    n += e.name.endswith(_SUFFIX)
        return n

    def info(self) -> dict[str, Any]:
        """Folder, number of files, their size and the limit (bytes)."""
        files = self._files()
        return {
            "folder": str(self.root),
            "enabled": cache_enabled(),
            "trusted": self.trusted(),
            "files": len(files),
            "bytes": sum(size for _, size, _ in files),
            "limit_bytes": int(_max_bytes()),
        }

    def __repr__(self) -> str:
        return f"<critmat ResultStore {self.root}>"
