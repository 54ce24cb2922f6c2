"""Daily repository statistics: one day of the lake, per repository, into a lake table.

For each repository active on ``--day``: its events, distinct actors, stars (distinct
stargazers, as the warehouse counts them), forks, pushes and pull requests opened and
merged, every event counted once per identity ``(event_key, created_at)``. Written to the
Delta table ``--table`` (``repository_stats_daily``) in the lake's bucket, partitioned by
day; a day run again replaces that day's rows (``replaceWhere``), nothing else.

Runs against ``local[*]``, the settings' ``spark.master_url`` or ``--master``, from the
Spark environment (``ghlake spark install``)::

    ~/.cache/ghlake/spark-venv/bin/python spark/jobs/repository_stats.py --day 2015-01-01
    $SPARK_HOME/bin/spark-submit --master spark://127.0.0.1:7077 \\
        spark/jobs/repository_stats.py --day 2015-01-01

Prints one JSON line: the day, the repositories written and the table's URL.
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from ghlake.platform import Platform
from ghlake.settings import load_settings
from ghlake.spark.session import spark_session

TABLE = "repository_stats_daily"


def _count_if(condition: sf.Column) -> sf.Column:
    return sf.count(sf.when(condition, True))


def repository_stats(lake: DataFrame, day: date) -> DataFrame:
    """One row per repository active on ``day``."""
    kind, action = sf.col("event_type"), sf.col("action")
    events = (
        lake.where((sf.col("event_date") == day.isoformat()) & (sf.col("repo_name") != ""))
        .dropDuplicates(["event_key", "created_at"])
    )  # fmt: skip
    login = sf.col("actor_login")
    stargazer = sf.when((kind == "WatchEvent") & (login != ""), login)
    pull = kind == "PullRequestEvent"
    return (
        events.groupBy("repo_name")
        .agg(
            sf.max("repo_id").alias("repo_id"),
            sf.count("*").alias("events"),
            sf.countDistinct(login).alias("actors"),
            sf.countDistinct(stargazer).alias("stars"),
            _count_if(kind == "ForkEvent").alias("forks"),
            _count_if(kind == "PushEvent").alias("pushes"),
            _count_if(pull & (action == "opened")).alias("pull_requests_opened"),
            _count_if(pull & (action == "closed") & (sf.col("merged") == 1)).alias(
                "pull_requests_merged"
            ),
        )
        .withColumn("day", sf.lit(day))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", type=date.fromisoformat, required=True)
    parser.add_argument("--table", default=TABLE)
    parser.add_argument("--master", help="default: GHLAKE_SPARK__MASTER_URL, else local[*]")
    args = parser.parse_args()

    platform = Platform(load_settings())
    spark = spark_session(platform, f"ghlake-repository-stats-{args.day}", master=args.master)
    lake = spark.read.format("delta").load(platform.spark.lake_url())
    stats = repository_stats(lake, args.day)
    url = platform.spark.lake_url(args.table)
    (
        stats.write.format("delta")
        .mode("overwrite")
        .partitionBy("day")
        .option("replaceWhere", f"day = DATE'{args.day.isoformat()}'")
        .save(url)
    )
    written = spark.read.format("delta").load(url).where(sf.col("day") == args.day).count()
    spark.stop()
    print(json.dumps({"day": args.day.isoformat(), "repositories": written, "table": url}))


if __name__ == "__main__":
    main()
