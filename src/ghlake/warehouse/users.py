"""Who may talk to the warehouse's ClickHouse interface, and with which per-query settings.

Three users, from settings (``GHLAKE_WAREHOUSE__*``), as ``clickhouse/server/users.d``
declares them for a clickhouse-server:

- the analyst (``analyst_user``): read-only, with time, result-row and memory limits;
  the engine enforces them, per query (``readonly = 1`` ... in the statement's own
  SETTINGS clause, see :mod:`ghlake.warehouse.wire`);
- the admin (``admin_user``): no read-only mode, for migrations and maintenance;
- ``default`` with an empty password, in dev mode only, as on a fresh clickhouse-server
  (here it is the analyst: read-only), so ``clickhouse_connect.get_client(port=8123)``
  works with no other argument.

A wrong name or password answers as ClickHouse does: code 516, AUTHENTICATION_FAILED.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ghlake.settings import Settings
from ghlake.warehouse.wire import ClickHouseError

__all__ = ["WarehouseUser", "authenticate"]


@dataclass(frozen=True)
class WarehouseUser:
    """A user of the ClickHouse interface and the settings every query of theirs ends with."""

    name: str
    readonly: bool
    settings: tuple[tuple[str, str], ...] = ()


def _analyst(name: str, settings: Settings) -> WarehouseUser:
    warehouse = settings.warehouse
    # The engine applies a SETTINGS clause in order and refuses any change once it is
    # read-only: the limits first, readonly = 1 last.
    limits = (
        ("max_execution_time", repr(warehouse.analyst_max_execution_time)),
        ("timeout_overflow_mode", "throw"),
        ("max_result_rows", str(warehouse.analyst_max_result_rows)),
        ("result_overflow_mode", "throw"),
        ("max_memory_usage", str(warehouse.analyst_max_memory_usage)),
        ("readonly", "1"),
    )
    return WarehouseUser(name, readonly=True, settings=limits)


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def authenticate(settings: Settings, user: str | None, password: str | None) -> WarehouseUser:
    """The user these credentials name, or ClickHouse's AUTHENTICATION_FAILED (516)."""
    name = user or "default"
    given = password or ""
    warehouse = settings.warehouse
    assert warehouse.analyst_password is not None
    assert warehouse.admin_password is not None
    if name == warehouse.analyst_user and _same(
        given, warehouse.analyst_password.get_secret_value()
    ):
        return _analyst(name, settings)
    if name == warehouse.admin_user and _same(given, warehouse.admin_password.get_secret_value()):
        return WarehouseUser(name, readonly=False)
    if name == "default" and settings.mode == "dev" and given == "":
        return _analyst(name, settings)
    raise ClickHouseError.named(
        "AUTHENTICATION_FAILED",
        f"{name[:100]}: Authentication failed: password is incorrect, "
        "or there is no user with such name",
    )
