"""Domain errors raised by the store; they know nothing of HTTP (`api/errors.py` maps them).

    FitwatchError
    ├── NotFound             an unknown run or series (or one the caller may not see)
    ├── InvalidInput         input that passed the schema but is still wrong
    │   ├── InvalidFilter    a run filter or sort that does not parse (carries the position)
    │   └── NestedTooDeep    a JSON body nested deeper than the JSON parsers read
    ├── PayloadTooLarge      a request body over `Settings.max_body_bytes`, or more points
    │                        than `Settings.max_points_per_request`
    ├── LimitExceeded        a ceiling reached: runs per project, series per run
    ├── Conflict             a name already taken (tokens)
    ├── Unauthorized         no credential, or one that is unknown, revoked or expired
    ├── Forbidden            a valid credential that may not do this
    │   └── CrossOrigin      a browser request from a page of another origin
    ├── HostNotAllowed       a `Host` header outside the allowlist (DNS rebinding)
    ├── UnsupportedMediaType a write whose body is not JSON
    ├── RateLimited          too many requests for one token (carries `retry_after_s`)
    ├── StorageUnavailable   the database cannot take this write now (carries `retry_after_s`)
    │   ├── StorageBusy      still locked by another writer after the lock timeout
    │   ├── StorageReadOnly  the database (file) is read-only: reads work, writes cannot
    │   └── ServerBusy       a write waited longer than the server's bound; nothing was
    │                        stored, send it again
    └── StorageFull          the disk (or the database's size limit) is full

The storage errors are made from the driver's error in one place, `db.session_scope`, and
keep the driver's message as their cause.
"""

from __future__ import annotations


class FitwatchError(Exception):
    """Base class: `detail` says what to fix."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(FitwatchError):
    pass


class InvalidInput(FitwatchError):
    pass


class NestedTooDeep(InvalidInput):
    pass


class InvalidFilter(InvalidInput):
    def __init__(self, detail: str, *, position: int, text: str) -> None:
        pointer = f"\n  {text}\n  {' ' * position}^"
        super().__init__(f"{detail} (at position {position}){pointer}")
        self.position = position


class PayloadTooLarge(FitwatchError):
    pass


class LimitExceeded(FitwatchError):
    pass


class Conflict(FitwatchError):
    pass


class Unauthorized(FitwatchError):
    pass


class Forbidden(FitwatchError):
    pass


class CrossOrigin(Forbidden):
    pass


class HostNotAllowed(FitwatchError):
    pass


class UnsupportedMediaType(FitwatchError):
    pass


class RateLimited(FitwatchError):
    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class StorageUnavailable(FitwatchError):
    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class StorageBusy(StorageUnavailable):
    pass


class StorageReadOnly(StorageUnavailable):
    pass


class StorageFull(FitwatchError):
    pass


class ServerBusy(StorageUnavailable):
    """The ingest writer's queue was longer than its bound; nothing was stored."""
