"""Spark Structured Streaming doing the lake writer's work: the baseline of bench/lake.py.

Reads the events topic from the start (``maxOffsetsPerTrigger`` events per micro-batch),
types each record with the lake writer's normalizer (:mod:`ghlake.spark.events`: the lake's
columns and Delta types, the Kafka partition and offset, the line), and writes zstd Parquet
partitioned by event date until the topic is drained (``trigger(availableNow=True)``).
Prints one JSON line: rows written and the steady-state rate (events after the first
micro-batch over the time from its end to the last one's).

Runs in the Spark environment (``ghlake spark install``: the same venv and jars as the
notebooks and jobs) against the topic of the settings (``GHLAKE_*``), on ``local[cores]``.
It writes to the local disk, not MinIO, which favours Spark::

    ~/.cache/ghlake/spark-venv/bin/python spark/lake_baseline.py \\
        --events 600000 --out /tmp/spark-lake --work-dir /tmp/spark-work
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path

from ghlake.platform import Platform
from ghlake.settings import load_settings
from ghlake.spark.events import kafka_events, typed_events
from ghlake.spark.session import spark_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, required=True, help="events on the topic")
    parser.add_argument("--max-offsets", type=int, default=100_000)
    parser.add_argument("--out", required=True, help="output folder (local path or s3a:// URL)")
    parser.add_argument("--work-dir", required=True, help="the query's checkpoint")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()

    platform = Platform(load_settings())
    spark = spark_session(platform, "ghlake-lake-baseline", master=f"local[{args.cores}]")
    spark.conf.set("spark.sql.parquet.compression.codec", "zstd")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
    records = kafka_events(spark, platform, max_offsets_per_trigger=args.max_offsets)
    query = (
        typed_events(records)
        .writeStream.format("parquet")
        .partitionBy("event_date")
        .option("path", args.out)
        .option("checkpointLocation", str(Path(args.work_dir) / "checkpoint"))
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
