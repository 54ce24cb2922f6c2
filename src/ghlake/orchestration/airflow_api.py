"""Airflow's REST API (``/api/v2``) as ghlake uses it: backfills of the hourly DAG.

A backfill of ``gharchive_hourly`` over ``first..last`` is one Airflow backfill: one
DAG run per hour, logical date = the hour. Airflow decides which hours to (re)run
(``reprocess``: ``none`` runs hours that never ran, ``failed`` also the failed ones,
``completed`` every hour); each run's conf carries the source and ``force``.
:func:`follow` polls the backfill's runs until the backfill is complete.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from ghlake.errors import InvalidInputError, ServiceError, Transient
from ghlake.hours import Hour

__all__ = [
    "HOURLY_DAG",
    "AirflowClient",
    "AirflowUnavailableError",
    "Backfill",
    "BackfillProgress",
    "follow",
]

log = logging.getLogger(__name__)

HOURLY_DAG = "gharchive_hourly"
Reprocess = Literal["none", "failed", "completed"]
FINISHED_RUN_STATES = frozenset({"success", "failed"})


class AirflowUnavailableError(ServiceError, Transient):
    """Airflow's api-server does not answer."""


@dataclass(frozen=True)
class Backfill:
    """One Airflow backfill as its API reports it."""

    id: int
    dag_id: str
    from_date: datetime
    to_date: datetime
    completed: bool

    @classmethod
    def of(cls, data: dict[str, Any]) -> Backfill:
        """From the API's JSON."""
        return cls(
            int(data["id"]), data["dag_id"], datetime.fromisoformat(data["from_date"]),
            datetime.fromisoformat(data["to_date"]), data["completed_at"] is not None,
        )  # fmt: skip


@dataclass(frozen=True)
class BackfillProgress:
    """The runs of a backfill by state, and whether Airflow has finished it."""

    backfill: Backfill
    hours: int
    states: dict[str, int] = field(default_factory=dict)  # run state -> runs
    failed_hours: list[str] = field(default_factory=list)

    @property
    def finished_runs(self) -> int:
        """Runs that ended, in success or failure."""
        return sum(n for state, n in self.states.items() if state in FINISHED_RUN_STATES)

    @property
    def done(self) -> bool:
        """Whether Airflow completed the backfill and none of its runs is still going."""
        unfinished = sum(n for s, n in self.states.items() if s not in FINISHED_RUN_STATES)
        return self.backfill.completed and unfinished == 0


class AirflowClient:
    """The api-server at ``url``, as ``user`` (a token is fetched on first use)."""

    def __init__(
        self, url: str, user: str, password: str, client: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._credentials = {"username": user, "password": password}
        # A busy api-server (it also serves every task's execution API) can be slow.
        self.http = client or httpx.Client(timeout=60)
        self._token: str | None = None

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, f"{self.url}{path}", **kwargs)
        except httpx.TransportError as exc:
            raise AirflowUnavailableError(f"Airflow at {self.url} does not answer: {exc}") from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._token is None:
            response = self._request("POST", "/auth/token", json=self._credentials)
            if response.status_code not in (200, 201):
                raise ServiceError(f"Airflow refused the login ({response.status_code})")
            self._token = str(response.json()["access_token"])
        headers = {"Authorization": f"Bearer {self._token}"}
        response = self._request(method, f"/api/v2{path}", headers=headers, **kwargs)
        if response.status_code in (400, 404, 409, 422):
            raise InvalidInputError(f"Airflow: {method} {path}: {_detail(response)}")
        if response.is_error:
            raise ServiceError(f"Airflow: {method} {path} ({response.status_code}): "
                               f"{_detail(response)}")  # fmt: skip
        return response.json()

    def healthy(self) -> bool:
        """Whether the api-server, its database and the scheduler report healthy."""
        health = self._request("GET", "/api/v2/monitor/health").json()
        return all(health[part]["status"] == "healthy" for part in ("metadatabase", "scheduler"))

    def create_backfill(
        self,
        first: Hour,
        last: Hour,
        *,
        conf: dict[str, Any],
        reprocess: Reprocess = "none",
        max_active_runs: int = 4,
        dag_id: str = HOURLY_DAG,
    ) -> Backfill:
        """Create a backfill of ``dag_id`` over the hours ``first..last``."""
        if last < first:
            raise InvalidInputError(f"range {first}..{last} is reversed")
        body = {
            "dag_id": dag_id, "from_date": first.start.isoformat(),
            "to_date": last.start.isoformat(), "dag_run_conf": conf,
            "reprocess_behavior": reprocess, "max_active_runs": max_active_runs,
        }  # fmt: skip
        return Backfill.of(self._send("POST", "/backfills", json=body))

    def backfill(self, backfill_id: int) -> Backfill:
        """A backfill's current state."""
        return Backfill.of(self._send("GET", f"/backfills/{backfill_id}"))

    def dag_ids(self) -> set[str]:
        """The DAGs Airflow has parsed."""
        return {dag["dag_id"] for dag in self._send("GET", "/dags", params={"limit": 1000})["dags"]}

    def import_errors(self) -> dict[str, str]:
        """DAG files that failed to parse, with their errors."""
        errors = self._send("GET", "/importErrors")["import_errors"]
        return {e["filename"]: e["stack_trace"] for e in errors}

    def runs(
        self, dag_id: str, first: datetime | None = None, last: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The DAG's runs (with a logical date in ``first..last`` when given), oldest first."""
        params: dict[str, Any] = {"order_by": "logical_date", "limit": 1000}
        if first is not None:
            params["logical_date_gte"] = first.isoformat()
        if last is not None:
            params["logical_date_lte"] = last.isoformat()
        runs: list[dict[str, Any]] = self._send("GET", f"/dags/{dag_id}/dagRuns", params=params)[
            "dag_runs"
        ]
        return runs

    def progress(self, backfill: Backfill) -> BackfillProgress:
        """How far a backfill is: its runs by state, the hours that failed."""
        backfill = self.backfill(backfill.id)
        runs = self.runs(backfill.dag_id, backfill.from_date, backfill.to_date)
        hours = int((backfill.to_date - backfill.from_date).total_seconds() // 3600) + 1
        failed = [_hour_of(r) for r in runs if r["state"] == "failed"]
        return BackfillProgress(backfill, hours, dict(Counter(r["state"] for r in runs)), failed)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a manual run of ``dag_id`` now; its run id."""
        body = {"logical_date": datetime.now(UTC).isoformat(), "conf": conf or {}}
        return str(self._send("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        """A run's state (queued, running, success, failed)."""
        return str(self._send("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (its return value by default)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self._send("GET", path)["value"]


def follow(
    client: AirflowClient,
    backfill: Backfill,
    on_progress: Callable[[BackfillProgress], None] | None = None,
    poll_seconds: float = 2.0,
    timeout: float | None = None,
) -> BackfillProgress:
    """Poll ``backfill`` until it is done (or ``timeout`` seconds passed); the last progress."""
    deadline = None if timeout is None else time.monotonic() + timeout
    progress = BackfillProgress(backfill, 0)
    while True:
        try:
            progress = client.progress(backfill)
        except AirflowUnavailableError:
            log.warning("Airflow did not answer; polling again", extra={"backfill": backfill.id})
        else:
            if on_progress is not None:
                on_progress(progress)
            if progress.done:
                return progress
        if deadline is not None and time.monotonic() >= deadline:
            return progress
        time.sleep(poll_seconds)


def _hour_of(run: dict[str, Any]) -> str:
    return Hour.containing(datetime.fromisoformat(run["logical_date"])).name


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:500]
