"""ghlake's exceptions: one tree, so edges can tell known failures from bugs.

::

    GhLakeError                      anything ghlake knows how to explain
    ├── ConfigError                  settings that cannot work (default secret in prod, bad path)
    ├── InvalidInputError            a user-supplied value is malformed (hour, range, topic)
    ├── SourceError                  an archive hour or feed could not be read
    ├── ServiceError                 a local service failed to install, start or answer
    ├── StorageError                 the object store refused or lost a request
    └── WarehouseError               the ClickHouse engine rejected a statement

Any of them may also carry :class:`Transient`, which marks a failure worth
retrying (a broker or MinIO that is down now may be up in a second). Only
transient errors are retried; everything else is terminal. Third-party errors
are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "GhLakeError",
    "InvalidInputError",
    "ServiceError",
    "SourceError",
    "StorageError",
    "Transient",
    "TransientStorageError",
    "WarehouseError",
    "is_transient",
]


class GhLakeError(Exception):
    """Base of every error ghlake raises on purpose."""


class Transient:
    """Mixin: the operation may succeed if retried later."""


class ConfigError(GhLakeError):
    """The settings cannot work as given."""


class InvalidInputError(GhLakeError, ValueError):
    """A value supplied by a user or caller is malformed."""


class SourceError(GhLakeError):
    """An archive hour or live feed could not be read."""


class ServiceError(GhLakeError):
    """A local service failed to install, start, stop or answer."""


class StorageError(GhLakeError):
    """The object store refused a request."""


class TransientStorageError(StorageError, Transient):
    """The object store is unreachable or overloaded; retry later."""


class WarehouseError(GhLakeError):
    """The ClickHouse engine rejected a statement."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` marks a failure worth retrying."""
    return isinstance(exc, Transient)
