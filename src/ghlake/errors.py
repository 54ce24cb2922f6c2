"""ghlake's exceptions: one tree, so edges can tell known failures from bugs.

::

    GhLakeError                          anything ghlake knows how to explain
    ├── ConfigError                      settings that cannot work (a dev secret in prod)
    ├── InvalidInputError                a user-supplied value is malformed (hour, range, topic)
    │   └── MalformedEventError          a line that is not a GH Archive event (dead-lettered)
    ├── SourceError                      an archive hour or feed could not be read
    │   ├── HourMissingError             the hour is in no archive (sources.archive)
    │   ├── TransientSourceError  [T]    a mirror failed or timed out (sources.archive)
    │   └── LiveFeedError                the Events API refused a request (sources.live_client)
    │       └── TransientLiveFeedError [T]  rate limited, 5xx, unreachable
    ├── ServiceError                     a local service failed to install, start or answer
    │   ├── DeliveryError         [T]    the broker did not acknowledge a message (kafka.producer)
    │   ├── PublishCancelledError        a replay was asked to stop mid-hour (kafka.producer)
    │   ├── ReadBackError         [T]    the topic could not be read back (kafka.readback)
    │   ├── RewindError           [T]    a consumer group could not be rewound (warehouse.offsets)
    │   └── WarehouseUnavailableError [T]  the warehouse service does not answer
    ├── StorageError                     the object store refused or lost a request
    │   └── TransientStorageError [T]    the object store is unreachable or overloaded
    ├── WarehouseError                   the ClickHouse engine rejected a statement
    ├── BatchAbandonedError              a lake batch lost its partitions (lake.consumer)
    └── PollStoppedError                 the live poller was asked to stop (sources.live_client)

``[T]`` marks classes that also carry :class:`Transient`: a failure worth
retrying (a broker or MinIO that is down now may be up in a second). Only
transient errors are retried; everything else is terminal. Third-party errors
are translated at the boundary with ``raise ... from exc``. An edge answers by
kind (:func:`http_status`): bad input 4xx, transient 503, anything else 500.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "GhLakeError",
    "InvalidInputError",
    "MalformedEventError",
    "ServiceError",
    "SourceError",
    "StorageError",
    "Transient",
    "TransientStorageError",
    "WarehouseError",
    "http_status",
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


class MalformedEventError(InvalidInputError):
    """A line that is not a GH Archive event; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def http_status(exc: BaseException, invalid: int = 422) -> int:
    """The HTTP status an edge answers ``exc`` with, by its kind.

    Bad input answers ``invalid`` (a 4xx: 422 in the public API, as FastAPI's own
    validation does), a transient failure 503 (retry later), anything else 500.
    """
    if isinstance(exc, InvalidInputError):
        return invalid
    if is_transient(exc):
        return 503
    return 500
