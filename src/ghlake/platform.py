"""The Platform: the one place that builds ghlake's clients from settings.

Every edge (the CLI, the API, the lake writer's Faust app, tests, and the
Airflow DAGs and Spark jobs to come) asks the Platform for what it needs and
never wires a client by hand. The Platform decides nothing else: the local
processes are supervised by :class:`~ghlake.services.stack.Stack` (``platform.stack``),
replays and reconciliation are in :mod:`ghlake.ingest`.

Clients that hold connections (the ledger, the object store, the warehouse
client, the reconciler over them) are built once per platform and released by
:meth:`Platform.close`; the rest are built per call and owned by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from ghlake.ingest.jobs import ReplayJobs
from ghlake.ingest.live import LiveIngest
from ghlake.ingest.reconcile import Reconciler
from ghlake.ingest.replay import Replayer
from ghlake.ingest.topic_replay import TopicReplayer, TopicReplayJobs
from ghlake.kafka.producer import EventPublisher
from ghlake.lag.broker import BrokerOffsets
from ghlake.lag.client import LagClient
from ghlake.lag.evaluator import Window
from ghlake.lag.monitor import LagMonitor
from ghlake.lake.consumer import LakeConsumer
from ghlake.lake.sink import LakeMetrics, LakeSink
from ghlake.lake.store import ObjectStore
from ghlake.lake.table import LakeTable
from ghlake.lake.writer import LakeWriter, WrittenFile
from ghlake.ledger import Ledger
from ghlake.ledger.topic_replays import TopicReplayLog
from ghlake.metabase.client import MetabaseClient
from ghlake.metabase.content import load_content
from ghlake.metabase.provision import Provisioner, WarehouseConnection
from ghlake.orchestration.airflow_api import AirflowClient
from ghlake.services.spark import SparkEnvironment
from ghlake.services.stack import Stack
from ghlake.settings import Settings
from ghlake.sources.archive import HourFetcher, open_archive
from ghlake.sources.live import EventsApiClient, LiveConfig, LivePoller
from ghlake.warehouse.clickhouse import ClickHouseQueries
from ghlake.warehouse.client import WarehouseClient
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.queries import KAFKA_CONSUMERS
from ghlake.warehouse.service import WarehouseService
from ghlake.warehouse.topic_rebuild import TopicRangeRebuild

__all__ = ["Platform"]

Hook = Callable[[], None]


class Platform:
    """ghlake's clients for one configuration."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def stack(self) -> Stack:
        """The local services (install, up, down, status)."""
        return Stack(self.settings)

    def close(self) -> None:
        """Release the clients this platform opened (the services keep running)."""
        for name in ("store", "warehouse", "ledger"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()
        self.__dict__.pop("reconciler", None)
        self.__dict__.pop("lake_table", None)

    # Kafka, the object store, the ledger, the warehouse

    def publisher(self) -> EventPublisher:
        """A new idempotent producer for the events topic (the caller flushes it)."""
        return EventPublisher(self.settings.kafka)

    @cached_property
    def store(self) -> ObjectStore:
        """The lake's bucket."""
        return ObjectStore.from_settings(self.settings)

    @cached_property
    def lake_table(self) -> LakeTable:
        """The lake's Delta table (readers, compaction, vacuum, history)."""
        return LakeTable.from_settings(self.settings)

    @cached_property
    def warehouse(self) -> WarehouseClient:
        """The warehouse service: named queries through its ClickHouse interface."""
        return WarehouseClient(
            self.settings.warehouse.url,
            token=self.settings.api_token,
            clickhouse=ClickHouseQueries.from_settings(self.settings),
        )

    def warehouse_service(self) -> WarehouseService:
        """The warehouse engine itself (embedded chDB at ``settings.warehouse_path``).

        One process may hold it: the warehouse service (``ghlake warehouse serve``), or
        ``ghlake warehouse migrate`` while that is stopped. Not yet migrated; the caller
        closes it.
        """
        return WarehouseService(
            ChdbEngine(self.settings.warehouse_path),
            self.settings,
            pipeline=self.settings.warehouse.pipeline,
        )

    @cached_property
    def ledger(self) -> Ledger:
        """The ledger database."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        return Ledger(self.settings.ledger_url)

    def metabase_provisioner(
        self,
        url: str,
        *,
        api_key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        warehouse_host: str | None = None,
    ) -> Provisioner:
        """Provisions ``metabase/`` into the Metabase at ``url`` (the caller closes its client).

        The database connection points Metabase at the warehouse's ClickHouse interface as
        the read-only analyst; ``warehouse_host`` is that host as Metabase sees it.
        """
        warehouse = self.settings.warehouse
        assert warehouse.analyst_password is not None
        connection = WarehouseConnection(
            warehouse_host or warehouse.host, warehouse.http_port, warehouse.database,
            warehouse.analyst_user, warehouse.analyst_password.get_secret_value(),
        )  # fmt: skip
        client = MetabaseClient(url, api_key=api_key, user=user, password=password)
        return Provisioner(client, load_content(self.settings.root / "metabase"), connection)

    # Getting events in

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

    def replayer(self, location: str | None = None) -> Replayer:
        """Publishes GH Archive hours from ``location`` (folder or mirror URL) via the ledger.

        The caller closes it (``with platform.replayer(source) as replayer: ...``).
        """
        return Replayer(
            self.publisher(), self.ledger, self.fetcher(location), self.settings.kafka,
            concurrency=self.settings.replay.concurrency,
        )  # fmt: skip

    def replay_jobs(self) -> ReplayJobs:
        """The API's queue of replay jobs, kept in the ledger."""
        return ReplayJobs(self.ledger, self.replayer)

    def live_ingest(
        self, base_url: str | None = None, tokens: Sequence[str] | None = None
    ) -> LiveIngest:
        """Polls GitHub's Events API into the topic, recording poll windows (caller closes it).

        ``base_url`` and ``tokens`` override the ``live`` settings.
        """
        live = self.settings.live
        config = LiveConfig(
            base_url=base_url or live.base_url, pages=live.pages, per_page=live.per_page,
            tokens=tuple(tokens or [t.get_secret_value() for t in live.tokens]),
            min_interval_s=live.min_interval_s, user_agent=live.user_agent,
            timeout_s=live.timeout_s, dedup_capacity=live.dedup_capacity,
        )  # fmt: skip
        poller = LivePoller(EventsApiClient(config))
        return LiveIngest(poller, self.publisher(), self.ledger)

    # The lake writer

    def lake_consumer(
        self,
        metrics: LakeMetrics,
        *,
        on_object: Callable[[WrittenFile, int], None] | None = None,
        after_dead_letters: Hook | None = None,
        before_table_commit: Hook | None = None,
        before_commit: Hook | None = None,
    ) -> LakeConsumer:
        """One lake writer: the group's consumer, committing batches to the Delta table.

        The hooks are fault-injection points for the kill -9 tests (None in production).
        """
        lake = self.settings.lake
        writer = LakeWriter(
            ObjectStore.from_settings(self.settings), LakeTable.from_settings(self.settings),
            self.settings.kafka.topic, on_object=on_object, row_group_rows=lake.row_group_rows,
            dedup_hours=lake.dedup_hours, before_table_commit=before_table_commit,
        )  # fmt: skip
        sink = LakeSink(
            writer, self.publisher(), metrics,
            retry_max_seconds=lake.retry_max_seconds, after_dead_letters=after_dead_letters,
        )  # fmt: skip
        return LakeConsumer(self.settings, sink, metrics, before_commit=before_commit)

    # Checking what arrived

    @cached_property
    def reconciler(self) -> Reconciler:
        """Counts per hour in the ledger, the lake and the warehouse."""
        return Reconciler(self.ledger, self.lake_table, self.store, self.warehouse)

    # Replaying the topic

    def topic_replayer(self) -> TopicReplayer:
        """Rebuilds the lake or the warehouse from a time range of the topic.

        The lake's batches go through a writer of their own; the warehouse's range is
        replaced through its ClickHouse interface as the admin.
        """
        settings = self.settings

        def lake_writer() -> LakeWriter:
            return LakeWriter(
                ObjectStore.from_settings(settings), LakeTable.from_settings(settings),
                settings.kafka.topic, row_group_rows=settings.lake.row_group_rows,
                dedup_hours=settings.lake.dedup_hours,
            )  # fmt: skip

        def warehouse_rebuild(name: str) -> TopicRangeRebuild:
            return TopicRangeRebuild(ClickHouseQueries.as_admin(settings), settings, name)

        return TopicReplayer(settings, lake_writer, warehouse_rebuild)

    @cached_property
    def topic_replays(self) -> TopicReplayLog:
        """The ledger's record of topic replays."""
        return TopicReplayLog(self.ledger)

    def topic_replay_jobs(self) -> TopicReplayJobs:
        """The API's queue of topic replays, kept in the ledger."""
        return TopicReplayJobs(self.topic_replays, self.topic_replayer())

    # Watching it run

    def broker_offsets(self) -> BrokerOffsets:
        """Consumer groups, log ends and record timestamps from the broker (caller closes it)."""
        return BrokerOffsets(self.settings.kafka.bootstrap)

    def lag_monitor(self) -> LagMonitor:
        """A monitor of every consumer group on the broker (the caller closes it)."""
        lag = self.settings.lag
        return LagMonitor(
            self.broker_offsets(),
            Window(lag.window_samples, lag.stop_after_seconds),
            inactive_after=lag.inactive_after_seconds,
        )

    def lag_client(self) -> LagClient:
        """The lag report of the API's monitor (for the CLI and tools)."""
        return LagClient(self.settings.api.url)

    def kafka_engine_consumers(self) -> list[dict[str, Any]]:
        """The warehouse's Kafka engine consumers, as ClickHouse reports them."""
        return self.warehouse.query(KAFKA_CONSUMERS)

    # Orchestration

    def airflow(self) -> AirflowClient:
        """A client of Airflow's REST API as the configured admin (the caller closes it)."""
        password, _ = self.settings.airflow_secrets()
        airflow = self.settings.airflow
        return AirflowClient(airflow.url, airflow.admin_user, password)

    # Spark (its own environment: jobs and notebooks, spark/)

    @cached_property
    def spark(self) -> SparkEnvironment:
        """The Spark environment: its interpreter, jars, master URL and Spark configuration."""
        return SparkEnvironment(self.settings)
