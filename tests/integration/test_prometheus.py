"""Prometheus on the real stack: every target up, the lag metrics scraped, the rules tested."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from ghlake.platform import Platform
from ghlake.services.prometheus_server import prometheus_binary, scrape_targets
from tests.conftest import REPO_ROOT, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROMETHEUS_DIR = REPO_ROOT / "prometheus"


def promtool(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [prometheus_binary("promtool"), *args], input=stdin, capture_output=True, cwd=cwd,
        check=False,
    )  # fmt: skip
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, output
    return output


def query(platform: Platform, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{platform.settings.prometheus.url}/api/v1/query", params={"query": expr}, timeout=10
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def test_the_rules_pass_promtool() -> None:
    rules = sorted(str(p) for p in (PROMETHEUS_DIR / "rules").glob("*.yml"))
    assert "SUCCESS" in promtool("check", "rules", *rules)
    tests = sorted(p.name for p in (PROMETHEUS_DIR / "tests").glob("*.yml"))
    assert "SUCCESS" in promtool("test", "rules", *tests, cwd=PROMETHEUS_DIR / "tests")


def test_every_metrics_endpoint_passes_promtool(platform: Platform, real_hours: object) -> None:
    for job, (address, path) in scrape_targets(platform.settings).items():
        if job in ("minio", "prometheus"):  # not ours to lint; scraped all the same
            continue
        body = httpx.get(f"http://{address}{path}", timeout=10)
        assert body.status_code == 200, job
        promtool("check", "metrics", stdin=body.content)


def test_prometheus_scrapes_every_target_and_the_lag_of_both_groups(
    platform: Platform, real_hours: object
) -> None:
    services = {s.name: s for s in platform.stack.status()}
    assert services["prometheus"].healthy, "ghlake status lists Prometheus"
    jobs = set(scrape_targets(platform.settings))

    def all_up() -> bool:
        up = {r["metric"]["job"]: r["value"][1] for r in query(platform, "up")}
        return set(up) == jobs and all(value == "1" for value in up.values())

    wait_for(all_up, timeout=60)
    groups = (platform.settings.lake.consumer_group, platform.settings.warehouse.consumer_group)

    def lag_of_both() -> bool:
        rows = query(platform, "ghlake_consumergroup_lag_seconds")
        status = query(platform, "ghlake_consumergroup_status")
        found = {r["metric"]["group"] for r in rows} & {r["metric"]["group"] for r in status}
        return set(groups) <= found

    wait_for(lag_of_both, timeout=60)
    rules = httpx.get(f"{platform.settings.prometheus.url}/api/v1/rules", timeout=10).json()
    names = {rule["name"] for group in rules["data"]["groups"] for rule in group["rules"]}
    assert {"ConsumerGroupLagHigh", "ConsumerGroupStopped", "TargetDown"} <= names
