"""The Platform: the one object every edge (CLI, API, tests) calls.

Built from :class:`~ghlake.settings.Settings`, it knows the local stack and
hands out the clients of each part: the event publisher, the lake's object
store, the warehouse service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from ghlake.errors import ServiceError
from ghlake.hours import Hour
from ghlake.ingest.replay import HourReport, LineProgress, Replayer
from ghlake.kafka.producer import EventPublisher
from ghlake.lake.reader import count_by_source_hour
from ghlake.lake.store import ObjectStore
from ghlake.ledger import Ledger
from ghlake.services.stack import StackService, stack_services
from ghlake.services.supervisor import ServiceStatus, Supervisor
from ghlake.settings import Settings
from ghlake.sources.archive import HourFetcher, open_archive
from ghlake.warehouse.client import WarehouseClient

__all__ = ["HourCounts", "Platform"]

StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class HourCounts:
    """One hour seen from each stage: what was published, what the lake and warehouse hold."""

    hour: str
    published: int
    lake: int
    warehouse: int

    @property
    def reconciled(self) -> bool:
        """Whether every stage holds exactly what was published."""
        return self.published == self.lake == self.warehouse


class Platform:
    """ghlake's services and clients for one configuration."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        state = settings.state_dir
        self.supervisor = Supervisor(state / "run", state / "logs")

    @cached_property
    def services(self) -> list[StackService]:
        """The local stack in start order."""
        return stack_services(self.settings)

    def service(self, name: str) -> StackService:
        """One service by name."""
        for service in self.services:
            if service.name == name:
                return service
        raise ServiceError(
            f"no service {name!r}; known: {', '.join(s.name for s in self.services)}"
        )

    def install(self, on_step: StepCallback | None = None) -> None:
        """Fetch and build what the services need (Kafka jars, MinIO), once per pin."""
        for service in self.services:
            if on_step is not None:
                on_step(f"installing {service.name}")
            service.install()

    def up(self, on_step: StepCallback | None = None) -> list[ServiceStatus]:
        """Install what is missing and start every service that is not running, in order."""
        statuses = []
        for service in self.services:
            if on_step is not None:
                on_step(f"starting {service.name}")
            statuses.append(self.start(service.name))
        return statuses

    def start(self, name: str) -> ServiceStatus:
        """Install, prepare and start one service, then run its post-start step (idempotent)."""
        service = self.service(name)
        service.install()
        service.prepare()
        status = self.supervisor.start(service.spec())
        service.after_start()
        return status

    def down(self, on_step: StepCallback | None = None) -> list[ServiceStatus]:
        """Stop every service, last started first."""
        statuses = []
        for service in reversed(self.services):
            if on_step is not None:
                on_step(f"stopping {service.name}")
            statuses.append(self.supervisor.stop(service.spec()))
        return statuses[::-1]

    def status(self) -> list[ServiceStatus]:
        """Each service's process and health."""
        return [self.supervisor.status(service.spec()) for service in self.services]

    def close(self) -> None:
        """Release the clients this platform opened (the services keep running)."""
        for name in ("store", "warehouse", "ledger"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()

    def publisher(self) -> EventPublisher:
        """A new idempotent producer for the events topic."""
        return EventPublisher(self.settings.kafka)

    @cached_property
    def store(self) -> ObjectStore:
        """The lake's bucket."""
        return ObjectStore.from_settings(self.settings)

    @cached_property
    def warehouse(self) -> WarehouseClient:
        """The warehouse service."""
        return WarehouseClient(self.settings.warehouse.url, token=self.settings.api_token)

    @cached_property
    def ledger(self) -> Ledger:
        """The ledger database."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        return Ledger(self.settings.ledger_url)

    def fetcher(self, location: str | None = None) -> HourFetcher:
        """Fetches hours from ``location`` (default: the configured mirror) and the fallbacks."""
        replay = self.settings.replay
        locations = [location or replay.mirror, *replay.fallback_mirrors]
        return HourFetcher(
            [open_archive(loc, replay.timeout_seconds) for loc in locations],
            self.settings.state_dir / "spool",
            retries=replay.retries,
            backoff=replay.retry_backoff_seconds,
        )

    def replay(
        self,
        location: str | None,
        hours: Iterable[Hour],
        on_hour: Callable[[Hour], None] | None = None,
        progress: LineProgress | None = None,
        *,
        force: bool = False,
        speed: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_report: Callable[[HourReport], None] | None = None,
    ) -> list[HourReport]:
        """Publish GH Archive ``hours`` from ``location`` (folder or mirror URL) via the ledger."""
        fetcher = self.fetcher(location)
        replayer = Replayer(
            self.publisher(), self.ledger, fetcher, self.settings.kafka,
            concurrency=self.settings.replay.concurrency,
        )  # fmt: skip
        try:
            return replayer.run(
                hours, force=force, speed=speed, on_hour=on_hour, progress=progress,
                should_stop=should_stop, on_report=on_report,
            )  # fmt: skip
        finally:
            fetcher.close()

    def counts(self, published: dict[str, int]) -> list[HourCounts]:
        """Compare what was published per hour with the lake and the warehouse."""
        hours = set(published)
        lake = count_by_source_hour(self.store, self.settings.lake.prefix, hours)
        warehouse = self.warehouse.counts_by_source_hour(hours)
        return [
            HourCounts(hour, published[hour], lake.get(hour, 0), warehouse.get(hour, 0))
            for hour in sorted(hours, key=Hour.parse)
        ]

    def reconcile(self, first: Hour, last: Hour) -> list[HourCounts]:
        """Per hour of the ledger in ``first..last``: published, in the lake, in the warehouse.

        Hours the ledger holds without events (missing, corrupt) are left out.
        """
        published = {r.hour: r.published for r in self.ledger.hours(first, last) if r.published}
        return self.counts(published) if published else []

    def wait_reconciled(
        self,
        published: dict[str, int],
        timeout: float = 180,
        on_poll: Callable[[list[HourCounts]], None] | None = None,
    ) -> list[HourCounts]:
        """Poll the counts until the lake and warehouse hold what was published, or time out."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts(published)
            if on_poll is not None:
                on_poll(counts)
            if all(c.reconciled for c in counts) or time.monotonic() >= deadline:
                return counts
            time.sleep(1.0)
