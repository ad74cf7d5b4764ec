"""Exception hierarchy shared by every package; each maps to one problem+json status."""

from __future__ import annotations


class BastionError(Exception):
    """Base of every error Bastion raises on purpose."""

    status_code = 500
    title = "Internal error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(BastionError):
    """Invalid configuration; names the file, line and field when they are known."""

    status_code = 422
    title = "Invalid configuration"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        more: tuple[ConfigError, ...] = (),
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.more = more
        self.own_message = message
        super().__init__(message + (f" (+{len(more)} more)" if more else ""))

    @property
    def problems(self) -> tuple[ConfigError, ...]:
        """Return this problem and every other one found in the same file."""
        return (self, *self.more)

    def describe(self) -> str:
        """Return ``file:line: field: message`` for this problem alone."""
        where = self.location
        return f"{where}: {self.own_message}" if where else self.own_message

    @property
    def location(self) -> str:
        """Return ``file:line: field`` with whatever parts are known."""
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        return where

    def __str__(self) -> str:
        where = self.location
        return f"{where}: {self.message}" if where else self.message


class InvalidInput(BastionError):
    """A request or payload that cannot be accepted as given."""

    status_code = 422
    title = "Invalid input"


class NotFound(BastionError):
    """The named object does not exist."""

    status_code = 404
    title = "Not found"


class Conflict(BastionError):
    """The request conflicts with the current state (duplicate, wrong state)."""

    status_code = 409
    title = "Conflict"


class Unauthorized(BastionError):
    """No valid credentials were presented."""

    status_code = 401
    title = "Authentication required"


class Forbidden(BastionError):
    """The caller is authenticated but lacks the permission."""

    status_code = 403
    title = "Forbidden"


class StorageError(BastionError):
    """The database is unreachable, corrupted or at the wrong schema."""

    status_code = 503
    title = "Storage unavailable"


class StorageUnavailable(StorageError):
    """The database does not answer right now (stopped, restarting, network down)."""

    title = "Database unreachable"
    MESSAGE = "The database is unreachable; try again shortly"

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


class IntegrityError(BastionError):
    """The tamper-evident ledger does not verify."""

    status_code = 500
    title = "Ledger integrity failure"


class IntegrationError(BastionError):
    """A device or peer integration failed."""

    status_code = 502
    title = "Integration failure"
