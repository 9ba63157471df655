"""Exception tree of critmat.

Every error says what went wrong, where, and what would be valid. Errors carry a stable
``code`` so callers (CLI, API, tests) can react without parsing messages, and they pickle
cleanly so they can cross process boundaries (Dask workers). Every exception class of
critmat lives here (other modules re-export the ones they raise), together with the
"did you mean" helper :func:`closest`::

    CritmatError
    ├── UnknownNameError (KeyError) ── UnknownTableError
    ├── DataValidationError (ValueError)      every problem of an input, nothing written
    ├── ParameterError (ValueError)           a selection or option that cannot be used
    ├── OutputError (ValueError)              an output format or destination
    ├── ScenarioError (ValueError) ── ScenarioSpecError
    ├── CheckFailed (AssertionError)          an invariant, strict mode (CheckWarning: warn)
    ├── DaskError (RuntimeError)              the cluster cannot be reached
    └── InfeasibleError (RuntimeError)        an optimisation without feasible solution

Examples
--------
>>> from critmat.errors import UnknownNameError
>>> err = UnknownNameError("material", "galium", suggestions=["gallium"])
>>> print(err)
unknown material 'galium'; did you mean 'gallium'?
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "AmbiguousNameError",
    "AuthenticationError",
    "CheckFailed",
    "CheckWarning",
    "CorruptStateError",
    "CritmatError",
    "DaskError",
    "DataValidationError",
    "ExternalError",
    "InfeasibleError",
    "JobCancelledError",
    "LockTimeoutError",
    "NoResultError",
    "OutputError",
    "ParameterError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "ReadOnlySQLError",
    "RendererUnavailableError",
    "RequestTooLargeError",
    "ScenarioError",
    "ScenarioSpecError",
    "StorageError",
    "UnknownNameError",
    "UnknownTableError",
    "closest",
    "explain",
    "shorten",
]


def closest(name: str, choices: Sequence[str], n: int = 3, cutoff: float = 60.0) -> list[str]:
    """Return up to ``n`` choices closest to ``name`` (rapidfuzz WRatio), best first.

    The "did you mean" helper of every error message.

    Examples
    --------
    >>> closest("galium", ["gallium", "germanium", "tungsten"])[0]
    'gallium'
    """
    from rapidfuzz import fuzz, process, utils

    if not choices:
        return []
    hits = process.extract(
        str(name),
        list(choices),
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=max(n * 3, n),
        score_cutoff=cutoff,
    )
    out: list[str] = []
    for choice, _score, _idx in hits:
        if choice not in out:
            out.append(choice)
        if len(out) == n:
            break
    return out


class CritmatError(Exception):
    """Base class of all critmat errors.

    Parameters
    ----------
    message
        Human-readable explanation.
    code
        Stable machine-readable error code.
    """

    code: str = "critmat_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), self.__dict__.copy()))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {"code": self.code, "message": self.message}


def _rebuild_error(cls: type[CritmatError], state: dict[str, Any]) -> CritmatError:
    obj = cls.__new__(cls)
    Exception.__init__(obj, state.get("message", ""))
    obj.__dict__.update(state)
    return obj


def _quote_list(items: Sequence[str]) -> str:
    return ", ".join(f"'{s}'" for s in items)


class UnknownNameError(CritmatError, KeyError):
    """A material, country, table, column or option name is not known.

    Parameters
    ----------
    kind
        What kind of name it is (``"material"``, ``"country"``, ``"table"``, ...).
    name
        The name as given.
    suggestions
        Closest valid names, best first.
    where
        Optional location (file, row, option) to include in the message.
    """

    code = "unknown_name"

    def __init__(
        self,
        kind: str,
        name: str,
        *,
        suggestions: Sequence[str] = (),
        where: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = list(suggestions)
        self.where = where
        msg = f"unknown {kind} '{name}'"
        if where:
            msg += f" in {where}"
        if self.suggestions:
            msg += f"; did you mean {_quote_list(self.suggestions[:3])}?"
        else:
            msg += f"; see `critmat data list` or the {kind} table for valid names"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {
            "code": self.code,
            "message": self.message,
            "kind": self.kind,
            "name": self.name,
            "suggestions": self.suggestions,
        }


class UnknownTableError(UnknownNameError):
    """A table name is not part of the knowledge base."""

    code = "unknown_table"

    def __init__(self, name: str, *, suggestions: Sequence[str] = ()) -> None:
        super().__init__("table", name, suggestions=suggestions)


@dataclass(frozen=True)
class Problem:
    """One problem found while validating data.

    Attributes
    ----------
    message
        What is wrong.
    file
        File the value came from (``None`` for in-memory frames).
    row
        Row number as a user sees it: the line in a CSV or the row in a spreadsheet (header
        is row 1), the 1-based record number in Parquet; ``None`` for whole-file problems.
    column
        Column name, or ``None`` for whole-row problems.
    value
        Offending value as text.
    expected
        What would be valid.
    suggestions
        Closest valid values (for unknown names).
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    def location(self) -> str:
        """Return ``file:row:column`` with the parts that are known."""
        parts = [p for p in (self.file, self.row, self.column) if p is not None]
        return ":".join(str(p) for p in parts) if parts else "(input)"

    def __str__(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        if self.suggestions:
            text += f"; did you mean {_quote_list(self.suggestions[:3])}?"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a plain dictionary."""
        d = asdict(self)
        d["suggestions"] = list(self.suggestions)
        return d


class DataValidationError(CritmatError, ValueError):
    """Input data failed validation; nothing was written.

    Parameters
    ----------
    problems
        Every problem found (validation is lazy: all rows and columns are checked).
    table
        Target table name, if any.
    source
        File or description of the input.
    """

    code = "data_validation"

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        table: str | None = None,
        source: str | None = None,
    ) -> None:
        self.problems = list(problems)
        self.table = table
        self.source = source
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}"
        if source:
            head += f" in {source}"
        if table:
            head += f" (table '{table}')"
        lines = [head + "; nothing was imported:"]
        shown = self.problems[:20]
        lines += [f"  - {p}" for p in shown]
        if n > len(shown):
            lines.append(f"  ... and {n - len(shown)} more (see .problems or --report FILE)")
        super().__init__("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {
            "code": self.code,
            "message": self.message,
            "table": self.table,
            "source": self.source,
            "problems": [p.to_dict() for p in self.problems],
        }


class ParameterError(CritmatError, ValueError):
    """A selection or option parameter cannot be parsed or does not apply."""

    code = "bad_parameter"


class OutputError(CritmatError, ValueError):
    """An output format or destination is not usable."""

    code = "bad_output"


class CheckFailed(CritmatError, AssertionError):
    """An invariant does not hold (strict mode)."""

    code = "check_failed"


class CheckWarning(UserWarning):
    """An invariant does not hold (warn mode)."""


class ScenarioError(CritmatError, ValueError):
    """A scenario specification is invalid or contradictory."""

    code = "scenario_invalid"


class ScenarioSpecError(ScenarioError):
    """A scenario specification has problems; nothing was computed.

    Parameters
    ----------
    problems
        Every problem found; ``Problem.column`` holds the location in the specification
        (e.g. ``shocks[1].severity``) and ``Problem.file`` the file, if any.
    source
        File or description of the specification.
    """

    code = "scenario_invalid"

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the scenario"
        if source:
            head += f" {source}"
        lines = [head + "; nothing was computed:"]
        for p in self.problems[:30]:
            where = p.column or ("(spec)" if p.row is None else f"line {p.row}")
            text = f"  - {where}: {p.message}"
            if p.value is not None:
                text += f" (got {p.value})"
            if p.expected:
                text += f"; expected {p.expected}"
            if p.suggestions:
                text += "; did you mean " + ", ".join(f"'{s}'" for s in p.suggestions[:3]) + "?"
            lines.append(text)
        if n > 30:
            lines.append(f"  ... and {n - 30} more")
        super().__init__("\n".join(lines))

    @property
    def locations(self) -> list[str]:
        """Locations of the problems, in order."""
        return [p.column or "" for p in self.problems]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {
            "code": self.code,
            "message": self.message,
            "source": self.source,
            "problems": [p.to_dict() for p in self.problems],
        }


class DaskError(CritmatError, RuntimeError):
    """The Dask cluster cannot be reached or used."""

    code = "dask_unavailable"


class InfeasibleError(CritmatError, RuntimeError):
    """An optimisation problem has no feasible solution."""

    code = "infeasible"


# ---------------------------------------------------------------- stored state and storage
# (user data directory, scenario run store, read-only SQL). One block, kept together.


class CorruptStateError(CritmatError):
    """A file of the user data directory or the run store is damaged or not critmat's.

    Parameters
    ----------
    path
        The file (or folder) at fault.
    problem
        What is wrong with it.
    remedy
        What the user can do (``"remove or restore FILE"``, a command to run, ...).
    """

    code = "corrupt_state"

    def __init__(self, path: str | os.PathLike[str], problem: str, remedy: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"{self.path}: {problem}; {remedy}")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "problem": self.problem,
            "remedy": self.remedy,
        }


class StorageError(CritmatError):
    """Writing to the user data directory or the run store failed; nothing was changed.

    Parameters
    ----------
    path
        The file or folder that could not be written.
    problem
        What went wrong (``"no space left on device"``, ``"read-only file system"``, ...).
    remedy
        What the user can do.
    errno
        The operating system's error number, when there is one.
    """

    code = "storage_error"

    def __init__(
        self,
        path: str | os.PathLike[str],
        problem: str,
        remedy: str,
        *,
        errno: int | None = None,
    ) -> None:
        self.path = str(path)
        self.problem = problem
        self.remedy = remedy
        self.errno = errno
        super().__init__(f"cannot write {self.path}: {problem}; nothing was changed; {remedy}")

    @classmethod
    def from_os_error(
        cls, exc: OSError, path: str | os.PathLike[str], *, what: str = "the data directory"
    ) -> StorageError:
        """Describe an ``OSError`` raised while writing ``path`` (disk full, read-only, ...)."""
        import errno as _errno

        code = exc.errno
        text = str(exc)
        if code is None and "No space left" in text:  # pyarrow's IO errors carry no errno
            code = _errno.ENOSPC
        if code in (_errno.ENOSPC, getattr(_errno, "EDQUOT", -1)):
            problem = "no space left on device"
            remedy = f"free some space on the disk of {what} or choose another one (--data-dir)"
        elif code == _errno.EROFS:
            problem = "read-only file system"
            remedy = f"{what} is read-only: read-only commands work, writes need another --data-dir"
        elif code in (_errno.EACCES, _errno.EPERM):
            problem = "permission denied"
            remedy = f"make {what} writable for this user or choose another one (--data-dir)"
        else:
            problem = exc.strerror or text or type(exc).__name__
            remedy = f"check {what} and try again"
        return cls(path, problem, remedy, errno=code)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "problem": self.problem,
            "remedy": self.remedy,
            "errno": self.errno,
        }


class LockTimeoutError(StorageError):
    """Another process held the write lock of a data directory for too long."""

    code = "lock_timeout"


class ReadOnlySQLError(CritmatError, ValueError):
    """A SQL statement given to ``kb.sql`` would change data or read files; it was not run."""

    code = "sql_not_read_only"


class RendererUnavailableError(CritmatError, RuntimeError):
    """A report format needs a program that is not installed (Chromium for PDF)."""

    code = "renderer_unavailable"


# ---------------------------------------------------------------- REST API (critmat.api)
# Access control and request limits of `critmat serve`. One block, kept together.


class AuthenticationError(CritmatError):
    """A request carries no API token, or one that is unknown or revoked (HTTP 401)."""

    code = "unauthenticated"


class PermissionDeniedError(CritmatError):
    """The token's role does not allow the request (HTTP 403)."""

    code = "forbidden"

    def __init__(self, message: str, *, role: str, required: str) -> None:
        self.role = role
        self.required = required
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {
            "code": self.code,
            "message": self.message,
            "role": self.role,
            "required": self.required,
        }


class RateLimitError(CritmatError):
    """A token sent more requests than its rate limit allows (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {"code": self.code, "message": self.message, "retry_after": self.retry_after}


class RequestTooLargeError(CritmatError):
    """A request body is larger than the server accepts (HTTP 413)."""

    code = "request_too_large"


class JobCancelledError(CritmatError):
    """A job (scenario run, optimisation) was cancelled while it ran."""

    code = "cancelled"


# ----------------------------------------------------------------------------- issue 10, wave 2
# (ambiguous names, empty results, failures of other libraries turned into messages)


def shorten(text: object, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with the full length said (for messages).

    Examples
    --------
    >>> shorten("x" * 1000, 10)
    'xxxxxxxxxx... (1,000 characters)'
    """
    s = str(text)
    return s if len(s) <= limit else f"{s[:limit]}... ({len(s):,} characters)"


class AmbiguousNameError(UnknownNameError):
    """A name that matches several countries or materials: the candidates are listed.

    Parameters
    ----------
    kind
        ``"country"``, ``"material"``, ...
    name
        The name as given.
    candidates
        The ids it could mean, each with its name (``"COG (Congo Republic)"``).
    where
        Optional location (option, file, row).
    """

    code = "ambiguous_name"

    def __init__(
        self, kind: str, name: str, *, candidates: Sequence[str], where: str | None = None
    ) -> None:
        super().__init__(kind, name, suggestions=candidates, where=where)
        self.candidates = list(candidates)
        msg = f"ambiguous {kind} '{name}'"
        if where:
            msg += f" in {where}"
        msg += f": it could be {', '.join(self.candidates)}; give the code"
        self.message = msg
        self.args = (msg,)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {**super().to_dict(), "candidates": self.candidates}


class NoResultError(CritmatError):
    """A command's selection gave no rows at all; the message says why (CLI exit code 3)."""

    code = "no_result"


class ExternalError(CritmatError):
    """A failure of the operating system or a library (DuckDB, Arrow, YAML, pandas), explained.

    Parameters
    ----------
    path
        The file involved, when known.
    problem
        What went wrong, in words.
    remedy
        What the user can do.
    """

    code = "external_failure"

    def __init__(self, path: str | None, problem: str, remedy: str) -> None:
        self.path = path
        self.problem = problem
        self.remedy = remedy
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{problem}; {remedy}")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the error."""
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "problem": self.problem,
            "remedy": self.remedy,
        }


def _path_in(text: str) -> str | None:
    import re

    m = re.search(r"""["']((?:/|[A-Za-z]:\\)[^"']+)["']""", text) or re.search(
        r"((?:/|[A-Za-z]:\\)\S+\.(?:parquet|duckdb|json|ya?ml|csv|xlsx|wal))", text
    )
    return m.group(1) if m else None


def explain(exc: BaseException) -> CritmatError | None:
    """A critmat error that explains ``exc`` (a failure of the OS or a library), or ``None``.

    Used by the error boundary of every face (CLI, API): operating-system errors (disk full,
    read-only, permission, missing file), DuckDB and Arrow/Parquet errors (a damaged file),
    YAML errors (with the line), text that is not UTF-8, pandas parser errors and running out
    of memory become a message that names the file, what went wrong and what to do.
    ``None`` means an unexpected error (a bug).
    """
    if isinstance(exc, CritmatError):
        return exc
    module = type(exc).__module__ or ""
    text = shorten(exc, 400)
    if isinstance(exc, MemoryError):
        return ExternalError(
            None,
            "out of memory",
            "use fewer samples (-n), a shorter horizon or fewer materials, or run on a Dask "
            "cluster (--dask)",
        )
    if isinstance(exc, UnicodeDecodeError):
        return ExternalError(
            None,
            f"the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position "
            f"{exc.start} cannot be read as {exc.encoding})",
            "save it as UTF-8 (in most editors: Save as... > Encoding UTF-8) and try again",
        )
    if module.startswith("yaml"):
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or text
        name = getattr(mark, "name", None)
        return ExternalError(
            name if isinstance(name, str) and not name.startswith("<") else None,
            f"invalid YAML{line}: {problem}",
            "fix the file (indentation, a missing ':' or quote) and try again",
        )
    if module.startswith(("duckdb", "_duckdb")):
        path = _path_in(str(exc))
        return ExternalError(
            path,
            f"the database could not be read ({type(exc).__name__}: {text})",
            "if the file is in your data directory it is damaged: restore it from a backup or "
            "remove it (critmat rebuilds its catalog); then try again",
        )
    if module.startswith("pyarrow"):
        path = _path_in(str(exc))
        return ExternalError(
            path,
            f"a Parquet/Arrow file could not be read ({type(exc).__name__}: {text})",
            "the file is damaged or not Parquet: restore it from a backup or remove it",
        )
    if module.startswith("pandas"):
        return ExternalError(
            None,
            f"the data could not be read ({type(exc).__name__}: {text})",
            "check the file's format (separator, quotes, header row) and try again",
        )
    if isinstance(exc, OSError):
        import errno as _errno

        path = exc.filename if isinstance(exc.filename, str) else None
        if exc.errno in (_errno.ENOSPC, _errno.EROFS, _errno.EACCES, _errno.EPERM) or (
            "No space left" in str(exc)
        ):
            return StorageError.from_os_error(exc, path or "(unknown file)", what="the folder")
        if isinstance(exc, FileNotFoundError):
            return ExternalError(path, "no such file or folder", "check the path and try again")
        if isinstance(exc, IsADirectoryError | NotADirectoryError):
            return ExternalError(path, exc.strerror or text, "give a file, not a folder")
        return ExternalError(path, exc.strerror or text, "check the file and try again")
    return None
