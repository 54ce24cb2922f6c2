"""The local stack: which services run, in which order, how each is prepared and supervised.

Order matters: the broker and MinIO first (together: neither needs the other), then the
warehouse service (its Kafka engine needs the topic) and the lake writers (they need topic
and bucket), together too, and the API last (its health is every other service's).
A service configured as external (``GHLAKE_KAFKA__EXTERNAL_BOOTSTRAP``,
``GHLAKE_MINIO__EXTERNAL_ENDPOINT``) is not started here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial

import httpx

from ghlake.errors import ServiceError
from ghlake.kafka.topics import ensure_topics, event_topics
from ghlake.lake.store import ObjectStore
from ghlake.services.airflow import (
    AIRFLOW_COMPONENTS,
    airflow_db_spec,
    airflow_spec,
    ensure_airflow_venv,
    init_airflow_db,
    migrate_airflow_db,
)
from ghlake.services.kafka_broker import (
    broker_spec,
    ensure_kafka_jars,
    format_storage,
    node_name,
    wait_for_brokers,
)
from ghlake.services.minio_server import ensure_minio_binary, minio_spec, prepare_minio_drives
from ghlake.services.prometheus_server import (
    prometheus_binary,
    prometheus_spec,
    write_prometheus_config,
)
from ghlake.services.spark import (
    ensure_spark_environment,
    master_spec,
    worker_name,
    worker_spec,
)
from ghlake.services.supervisor import ProcessSpec, ServiceStatus, Supervisor
from ghlake.settings import Settings

__all__ = [
    "Stack",
    "StackService",
    "StepCallback",
    "kafka_services",
    "lake_writer_name",
    "lake_writer_services",
    "stack_services",
]

StepCallback = Callable[[str], None]

# The services there may be several of: node 2 ... of Kafka, writer 2 ... of the lake.
_SCALED = re.compile(r"(kafka|lake-writer)-\d+")

# Runs of services that start together: the Kafka nodes and MinIO (neither needs the other),
# then the topic's and the bucket's consumers (the warehouse, the lake writers).
_STORAGE, _CONSUMERS = "storage", "consumers"


@dataclass(frozen=True)
class StackService:
    """One service of the stack with its install, pre-start and post-start steps."""

    name: str
    spec: Callable[[], ProcessSpec]
    install: Callable[[], object] = lambda: None  # downloads and builds, into the cache
    prepare: Callable[[], object] = lambda: None  # state set-up before the first start
    after_start: Callable[[], object] = lambda: None
    # An optional part (``ghlake up --with <group>``); None: always started by ``up``.
    group: str | None = None
    # Starts together with the services next to it of the same name (none waits for another).
    together: str | None = None


def _http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def _ghlake_service(
    name: str,
    command: tuple[str, ...],
    url: str,
    *,
    ready_timeout: float = 60,
    also: tuple[str, str] | None = None,
    env: dict[str, str] | None = None,
    together: str | None = None,
) -> StackService:
    """A service that is a ``ghlake`` command answering ``<url>/healthz``.

    ``also``: a second listener of the same process (its name and ping URL), listed
    with the address and checked with the health.
    """
    address = url if also is None else f"{url}, {also[0]} {also[1].rsplit('/', 1)[0]}"
    return StackService(
        name,
        spec=lambda: ProcessSpec(
            name=name,
            argv=[sys.executable, "-m", "ghlake.cli.main", *command],
            address=address,
            health=lambda: _http_ok(f"{url}/healthz") and (also is None or _http_ok(also[1])),
            ready_timeout=ready_timeout,
            stop_timeout=30,
            env=env or {},
        ),
        together=together,
    )


def stack_services(settings: Settings) -> list[StackService]:
    """The services ``ghlake up`` starts, in start order (the API last: it checks the rest)."""
    services: list[StackService] = []
    if settings.kafka.external_bootstrap is None:
        services += kafka_services(settings)
    if settings.minio.external_endpoint is None:
        services.append(
            StackService(
                "minio",
                spec=lambda: minio_spec(settings),
                install=lambda: ensure_minio_binary(settings),
                prepare=lambda: prepare_minio_drives(settings),
                after_start=lambda: ObjectStore.from_settings(settings).ensure_bucket(),
                together=_STORAGE,
            )
        )
    services.append(
        _ghlake_service(
            "warehouse",
            ("warehouse", "serve"),
            settings.warehouse.url,
            also=("ClickHouse HTTP", f"{settings.warehouse.http_url}/ping"),
            together=_CONSUMERS,
        )
    )
    services += lake_writer_services(settings)
    services.append(_ghlake_service("api", ("api", "serve"), settings.api.url))
    if settings.prometheus.enabled:  # last: it scrapes all of the above
        services.append(
            StackService(
                "prometheus",
                spec=lambda: prometheus_spec(settings),
                install=prometheus_binary,
                prepare=lambda: write_prometheus_config(settings),
            )
        )
    services += airflow_services(settings)
    services += spark_services(settings)
    return services


def kafka_services(settings: Settings) -> list[StackService]:
    """The local Kafka nodes (``kafka.brokers``), started together (and with MinIO): a node
    of a cluster answers only once a quorum of its voters runs.

    Each creates the topics once every broker has registered (idempotent: the first to
    get there creates them; three replicas need three brokers).
    """

    def topics() -> None:
        wait_for_brokers(settings.kafka)
        ensure_topics(settings.kafka.bootstrap, event_topics(settings.kafka))

    return [
        StackService(
            node_name(node),
            spec=partial(broker_spec, settings, node),
            install=lambda: ensure_kafka_jars(settings),
            prepare=partial(format_storage, settings, node),
            after_start=topics,
            together=_STORAGE,
        )
        for node in range(1, settings.kafka.brokers + 1)
    ]


def lake_writer_name(number: int) -> str:
    """The stack's name of lake writer ``number``: ``lake-writer``, then ``lake-writer-2`` ..."""
    return "lake-writer" if number == 1 else f"lake-writer-{number}"


def lake_writer_services(settings: Settings) -> list[StackService]:
    """``lake.writers`` lake writers: one consumer group, the partitions spread among them.

    They start together, with the warehouse (each waits only for its own health), and each
    serves health and metrics on its own port (``lake.web_port + n - 1``).
    """
    lake = settings.lake
    return [
        _ghlake_service(
            lake_writer_name(number),
            ("worker",),
            lake.writer_url(number),
            ready_timeout=90,
            env={"GHLAKE_LAKE__WEB_PORT": str(lake.web_port + number - 1)},
            together=_CONSUMERS,
        )
        for number in range(1, lake.writers + 1)
    ]


def airflow_services(settings: Settings) -> list[StackService]:
    """Airflow (``ghlake up --with airflow``): its database, then its four components."""
    database = StackService(
        "airflow-db",
        spec=lambda: airflow_db_spec(settings),
        install=lambda: ensure_airflow_venv(settings),
        prepare=lambda: init_airflow_db(settings),
        after_start=lambda: migrate_airflow_db(settings),
        group="airflow",
    )
    components = [
        StackService(
            f"airflow-{component}",
            spec=lambda component=component: airflow_spec(settings, component),  # type: ignore[misc]
            group="airflow",
            # The daemons need only the api-server (their health is its heartbeat report).
            together=None if component == "api-server" else "airflow-daemons",
        )
        for component in AIRFLOW_COMPONENTS
    ]
    return [database, *components]


def spark_services(settings: Settings) -> list[StackService]:
    """The standalone Spark cluster (``ghlake spark up``): a master and its workers.

    The Spark environment (a 2 GB venv and its jars) is set up when the cluster first
    starts, not by ``ghlake install``: most stacks never run Spark.
    """

    def on_demand(name: str, spec: Callable[[], ProcessSpec]) -> StackService:
        environment = lambda: ensure_spark_environment(settings)  # noqa: E731
        return StackService(name, spec=spec, prepare=environment, group="spark")

    workers = [
        on_demand(worker_name(i), partial(worker_spec, settings, i))
        for i in range(1, settings.spark.workers + 1)
    ]
    return [on_demand("spark-master", partial(master_spec, settings)), *workers]


class Stack:
    """The local services of one configuration: install, start in order, stop, report.

    Pid files and logs live under the state directory (``GHLAKE_HOME``), so a second
    ``up`` finds what the first one started.
    """

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
        for service in _announced(self.services, "installing", on_step):
            service.install()

    def up(
        self, on_step: StepCallback | None = None, with_groups: Collection[str] = ()
    ) -> list[ServiceStatus]:
        """Install what is missing and start every service that is not running, in order.

        Optional services start only when their group is in ``with_groups``.
        """
        unknown = set(with_groups) - {s.group for s in self.services}
        if unknown:
            known = sorted({s.group for s in self.services if s.group is not None})
            raise ServiceError(f"no optional part {', '.join(sorted(unknown))}; known: {known}")
        chosen = [s for s in self.services if s.group is None or s.group in with_groups]
        return self._start_in_order(chosen, on_step)

    def start(self, name: str) -> ServiceStatus:
        """Install, prepare and start one service, then run its post-start step (idempotent)."""
        service = self.service(name)
        service.install()
        service.prepare()
        return self._launch(service)

    def _prepare_and_launch(self, service: StackService) -> ServiceStatus:
        service.prepare()
        return self._launch(service)

    def _launch(self, service: StackService) -> ServiceStatus:
        """Start a prepared service and run its post-start step."""
        status = self.supervisor.start(service.spec())
        service.after_start()
        return status

    def _start_in_order(
        self, services: list[StackService], on_step: StepCallback | None
    ) -> list[ServiceStatus]:
        """Start ``services`` in order; a run of services together starts in parallel."""
        statuses: list[ServiceStatus] = []
        for run in _runs(services):
            if on_step is not None:
                on_step(f"starting {', '.join(s.name for s in run)}")
            if len(run) == 1:
                statuses.append(self.start(run[0].name))
                continue
            for service in run:  # downloads one at a time: they share the cache
                service.install()
            with ThreadPoolExecutor(len(run)) as pool:
                statuses += pool.map(self._prepare_and_launch, run)
        return statuses

    def down(self, on_step: StepCallback | None = None) -> list[ServiceStatus]:
        """Stop every service, last started first; a run started together (the nodes of a
        Kafka cluster) stops together, so no node waits on a quorum the others already left."""
        statuses: list[ServiceStatus] = []
        leftovers = self._leftovers()
        for run in list(_runs(self.services))[::-1]:
            # Nodes or writers beyond the configured count (a ``ghlake up --kafka-brokers 3``
            # stopped by a ``down`` without the same settings) stop with their kind.
            specs = [s.spec() for s in run] + [
                spec for spec in leftovers if any(spec.name.startswith(f"{s.name}-") for s in run)
            ]
            if on_step is not None:
                on_step(f"stopping {', '.join(spec.name for spec in specs)}")
            with ThreadPoolExecutor(len(specs)) as pool:
                statuses += list(pool.map(self.supervisor.stop, specs))[::-1]
        return statuses[::-1]

    def _leftovers(self) -> list[ProcessSpec]:
        """Running Kafka nodes and lake writers beyond the configured counts (a ``ghlake up
        --kafka-brokers 3`` stopped by a ``down`` that was not given the same settings)."""
        known = {s.name for s in self.services}
        run_dir = self.supervisor.run_dir
        names = sorted(p.stem for p in run_dir.glob("*.pid")) if run_dir.is_dir() else []
        return [
            ProcessSpec(name, argv=[], address="", health=lambda: False, stop_timeout=30)
            for name in names
            if _SCALED.fullmatch(name) and name not in known and self.supervisor.pid(name)
        ]

    def status(self) -> list[ServiceStatus]:
        """Each service's process and health; an optional group only while one of it runs."""
        running = {s.group for s in self.services if self.supervisor.pid(s.name) is not None}
        return [
            self.supervisor.status(service.spec())
            for service in self.services
            if service.group is None or service.group in running
        ]

    def group_up(self, group: str, on_step: StepCallback | None = None) -> list[ServiceStatus]:
        """Start one optional group (``ghlake airflow up``), in order; the rest is left as is."""
        return self._start_in_order([s for s in self.services if s.group == group], on_step)

    def group_down(self, group: str, on_step: StepCallback | None = None) -> list[ServiceStatus]:
        """Stop one optional group, last started first."""
        members = [s for s in self.services[::-1] if s.group == group]
        return [self.supervisor.stop(s.spec()) for s in _announced(members, "stopping", on_step)]


def _runs(services: list[StackService]) -> Iterator[list[StackService]]:
    """``services`` in start order, grouped: each run of the same ``together`` name, the
    rest alone."""
    run: list[StackService] = []
    for service in services:
        if run and not (service.together is not None and service.together == run[-1].together):
            yield run
            run = []
        run.append(service)
    if run:
        yield run


def _announced(
    services: list[StackService], verb: str, on_step: StepCallback | None
) -> Iterator[StackService]:
    """``services`` one by one, telling ``on_step`` what is done to each before it is."""
    for service in services:
        if on_step is not None:
            on_step(f"{verb} {service.name}")
        yield service
