"""The SDK's exception tree: what fitwatch raises, and when.

    FitwatchError
    +-- ServerError        the server answered with an error status (4xx/5xx)
    |   +-- RejectedError  a 4xx that resending will not fix (malformed request)
    +-- TransportError     the server could not be reached (refused, timeout, reset)
    +-- JournalError       the on-disk journal could not be read or written

Only `init()` and constructors raise (`ValueError` for bad arguments). Once training runs,
fitwatch never raises into the training loop: the sender catches these, warns once per
cause and keeps the data in the journal.
"""

from __future__ import annotations


class FitwatchError(Exception):
    """Base class of every error fitwatch raises."""


class ServerError(FitwatchError):
    """The server answered with an error status."""

    def __init__(
        self, message: str, *, status_code: int, retry_after_s: float | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        # The server's own explanation (its JSON `detail`), when it gave one.
        self.detail = detail
        # From a 429's (or 503's) Retry-After header: when the server wants to hear again.
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        # 408/429 and 5xx are the server's way of saying "later"; 404 means the run does
        # not exist (yet), which the sender fixes by creating it again.
        return self.status_code in (404, 408, 409, 425, 429) or self.status_code >= 500


class RejectedError(ServerError):
    """A 4xx answer that resending the same request cannot fix."""


class TransportError(FitwatchError):
    """The server could not be reached."""


class JournalError(FitwatchError):
    """The on-disk journal could not be read or written."""


__all__ = ["FitwatchError", "JournalError", "RejectedError", "ServerError", "TransportError"]
