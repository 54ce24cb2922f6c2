"""Catalogue queries through ClickHouse's HTTP interface, with clickhouse-connect.

ghlake's own code (the CLI, reconcile, the API's client, benches) reaches the warehouse
the way any ClickHouse client does: the ``.sql`` file of a named query goes to the
interface with its parameters bound by the server (``param_<name>``), and the rows come
back as the engine wrote them (JSONEachRow), so embedded chDB behind the warehouse
service and a clickhouse-server run the same code with a different host.

The connection opens on first use (clickhouse-connect asks the server for its version
and settings when it connects), so building a client never needs the service up.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import orjson
from clickhouse_connect import get_client
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from pydantic import SecretStr

from ghlake.errors import InvalidInputError, ServiceError, Transient, WarehouseError
from ghlake.settings import Settings
from ghlake.warehouse.queries import named_query

__all__ = ["ClickHouseQueries", "ClickHouseUnavailableError"]


class ClickHouseUnavailableError(ServiceError, Transient):
    """The warehouse's ClickHouse interface does not answer."""


class ClickHouseQueries:
    """Named queries run through a ClickHouse HTTP interface as one user."""

    def __init__(
        self, host: str, port: int, user: str, password: str, database: str | None = None
    ) -> None:
        self.host, self.port, self.database = host, port, database
        self._user, self._password = user, password
        self._client: Client | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ClickHouseQueries:
        """The warehouse service's interface, as the read-only analyst."""
        warehouse = settings.warehouse
        return cls._as(settings, warehouse.analyst_user, warehouse.analyst_password)

    @classmethod
    def as_admin(cls, settings: Settings) -> ClickHouseQueries:
        """The warehouse service's interface, as the admin (statements that write)."""
        warehouse = settings.warehouse
        return cls._as(settings, warehouse.admin_user, warehouse.admin_password)

    @classmethod
    def _as(cls, settings: Settings, user: str, password: SecretStr | None) -> ClickHouseQueries:
        warehouse = settings.warehouse
        assert password is not None  # settings give every user a password (dev) or refuse
        return cls(
            warehouse.host, warehouse.http_port, user, password.get_secret_value(),
            warehouse.database,
        )  # fmt: skip

    @property
    def client(self) -> Client:
        """The clickhouse-connect client (connected on first use)."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = get_client(
                        host=self.host, port=self.port, username=self._user,
                        password=self._password, database=self.database or "",
                        autogenerate_session_id=False, connect_timeout=5,
                        send_receive_timeout=300,
                    )  # fmt: skip
                except OperationalError as exc:
                    raise ClickHouseUnavailableError(
                        f"the warehouse's ClickHouse interface at {self.host}:{self.port} "
                        f"does not answer: {exc}"
                    ) from exc
                except DatabaseError as exc:
                    raise _translated(exc) from exc
            return self._client

    def rows(self, name: str, params: Mapping[str, object]) -> list[dict[str, Any]]:
        """Rows of the named query ``name`` with ``params`` bound by the server."""
        return self.select(named_query(name), params, what=f"{name}: ")

    def statement(
        self,
        sql: str,
        params: Mapping[str, object] | None = None,
        settings: Mapping[str, object] | None = None,
    ) -> None:
        """Run ``sql`` (DDL, ``INSERT ... SELECT``, a delete) with ``params`` bound."""
        self._raw(sql, params, None, "", settings)

    def select(
        self, sql: str, params: Mapping[str, object] | None = None, what: str = ""
    ) -> list[dict[str, Any]]:
        """Rows of ``sql`` with ``params`` bound by the server."""
        data = self._raw(sql, params, "JSONEachRow", what)
        return [orjson.loads(line) for line in data.splitlines() if line]

    def _raw(
        self,
        sql: str,
        params: Mapping[str, object] | None,
        fmt: str | None,
        what: str,
        settings: Mapping[str, object] | None = None,
    ) -> bytes:
        try:
            return self.client.raw_query(
                sql, parameters=dict(params or {}), settings=dict(settings or {}), fmt=fmt
            )
        except OperationalError as exc:
            raise ClickHouseUnavailableError(
                f"{what}the warehouse's ClickHouse interface failed: {exc}"
            ) from exc
        except DatabaseError as exc:
            raise _translated(exc) from exc

    def close(self) -> None:
        """Close the connection pool."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _translated(exc: DatabaseError) -> InvalidInputError | WarehouseError:
    text = str(exc)
    if "Code: 516" in text:
        return InvalidInputError(f"the warehouse refused the credentials: {text[:300]}")
    return WarehouseError(text[:2000])
