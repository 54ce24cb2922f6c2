"""Spark Structured Streaming doing the lake writer's work: the baseline of bench/lake.py.

Reads the events topic from the start (Kafka source, ``maxOffsetsPerTrigger`` events per
micro-batch), turns each Kafka record into the lake's columns with the same normalizer the
lake writer uses (``ghlake.events.normalize``, through ``mapInArrow``: the typed event, the
Kafka partition and offset, the original line), and writes zstd Parquet partitioned by
event date and hour, until the topic is drained
(``trigger(availableNow=True)``). Prints one JSON line: rows written and the steady-state
rate (events after the first micro-batch over the time from its end to the last one's).

Runs in its own virtual environment (spark/requirements.txt; pyspark is not a dependency
of ghlake), with ``src/`` on PYTHONPATH. The Kafka connector is resolved once with Maven
from spark/pom.xml into ``~/.cache/ghlake/spark-jars/<version>`` (Spark's own Ivy
resolution does not reach Maven Central from these machines; Maven does). Bound to
127.0.0.1.

    PYTHONPATH=src ~/.cache/ghlake/spark-venv/bin/python spark/lake_baseline.py \\
        --bootstrap 127.0.0.1:9092 --topic gharchive.events --events 600000 --out /tmp/spark-lake
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from ghlake.events.normalize import EventTableBuilder, MalformedEventError, file_time_seconds
from ghlake.lake.schema import LAKE_FIELDS

POM = Path(__file__).resolve().parent / "pom.xml"
JARS = Path.home() / ".cache" / "ghlake" / "spark-jars"
# Only the connector and what Spark itself lacks; the rest is in pyspark's jars already.
_CONNECTOR_JARS = ("spark-sql-kafka", "spark-token-provider-kafka", "kafka-clients",
                   "commons-pool2")  # fmt: skip


def connector_jars() -> list[Path]:
    """The Kafka connector's jars for the pinned Spark version, resolved once with Maven."""
    match = re.search(r"<spark.version>([^<]+)</spark.version>", POM.read_text())
    if match is None:
        raise SystemExit(f"{POM} does not pin <spark.version>")
    folder = JARS / match.group(1)
    if not (folder / ".complete").is_file():
        if shutil.which("mvn") is None:
            raise SystemExit("Maven (mvn) is needed once to fetch the Spark Kafka connector")
        maven = ["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies"]
        options = ["-DincludeScope=runtime", f"-DoutputDirectory={folder}"]
        subprocess.run([*maven, *options], check=True)
        (folder / ".complete").write_text(match.group(1) + "\n")
    return sorted(p for p in folder.glob("*.jar") if p.name.startswith(_CONNECTOR_JARS))


# Spark has no unsigned integers: widen each to the next signed type.
_SIGNED = {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64(),
           pa.uint64(): pa.int64(), pa.large_binary(): pa.binary()}  # fmt: skip


def _spark_type(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(kind):  # Spark's Arrow timestamps are microseconds
        return pa.timestamp("us", tz="UTC")
    return _SIGNED.get(kind, kind)


def output_schema() -> pa.Schema:
    """The typed schema as Spark can hold it, plus the Hive partition columns."""
    builder = EventTableBuilder(LAKE_FIELDS)
    fields = [pa.field(f.name, _spark_type(f.type)) for f in builder.schema]
    return pa.schema([*fields, pa.field("event_date", pa.string()),
                      pa.field("event_hour", pa.string())])  # fmt: skip


def _header(headers: list[dict[str, object]] | None, name: str) -> bytes:
    for header in headers or []:
        if header["key"] == name:
            value = header["value"]
            return value if isinstance(value, bytes) else b""
    return b""


def normalize_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Kafka records (value, headers, partition, offset) to typed rows, like the lake writer."""
    schema = output_schema()
    for batch in batches:
        builder = EventTableBuilder(LAKE_FIELDS)
        values = batch.column("value").to_pylist()
        headers = batch.column("headers").to_pylist()
        partitions = batch.column("partition").to_pylist()
        offsets = batch.column("offset").to_pylist()
        times: dict[bytes, int] = {}
        for value, header, partition, offset in zip(values, headers, partitions, offsets,
                                                    strict=True):  # fmt: skip
            raw_time = _header(header, "file_time")
            if raw_time not in times:
                times[raw_time] = file_time_seconds(raw_time)
            try:
                builder.append(
                    value, source=_header(header, "source").decode(),
                    source_hour=_header(header, "hour").decode(), file_time=times[raw_time],
                    extra=(partition, offset, value),
                )  # fmt: skip
            except MalformedEventError:
                continue  # the lake writer dead-letters these; the baseline drops them
        table = builder.table()
        columns = [table.column(f.name).cast(_spark_type(f.type)) for f in table.schema]
        created = table.column("created_at")
        columns += [pc.strftime(created, "%Y-%m-%d"), pc.strftime(created, "%H")]
        yield from pa.Table.from_arrays(columns, schema=schema).to_batches()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--events", type=int, required=True, help="events on the topic")
    parser.add_argument("--max-offsets", type=int, default=100_000)
    parser.add_argument("--out", required=True, help="output folder (local path or s3a:// URL)")
    parser.add_argument("--work-dir", required=True, help="checkpoints and Spark scratch")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers: this environment
    spark = (
        SparkSession.builder.master(f"local[{args.cores}]")
        .appName("ghlake-lake-baseline")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.jars", ",".join(str(p) for p in connector_jars()))
        .config("spark.local.dir", str(work / "scratch"))
        .config("spark.sql.shuffle.partitions", str(args.cores))
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("subscribe", args.topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(args.max_offsets))
        .option("includeHeaders", "true")
        .load()
        .select("value", "headers", "partition", "offset")
    )
    typed = source.mapInArrow(normalize_batches, from_arrow_schema(output_schema()))
    query = (
        typed.writeStream.format("parquet")
        .partitionBy("event_date", "event_hour")
        .option("path", args.out)
        .option("checkpointLocation", str(work / "checkpoint"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    progress = [p for p in query.recentProgress if p["numInputRows"] > 0]
    starts = [datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")).timestamp()
              for p in progress]  # fmt: skip
    ends = [s + p["batchDuration"] / 1000 for s, p in zip(starts, progress, strict=True)]
    steady_rows = sum(p["numInputRows"] for p in progress[1:])
    rate = steady_rows / (ends[-1] - ends[0]) if len(progress) > 1 else 0.0
    written = spark.read.parquet(args.out).count()
    spark.stop()
    print(json.dumps({"rows": written, "events_in": sum(p["numInputRows"] for p in progress),
                      "micro_batches": len(progress), "events_per_second": rate,
                      "finished_at": time.time()}))  # fmt: skip


if __name__ == "__main__":
    main()
