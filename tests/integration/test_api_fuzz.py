"""The public API against its own OpenAPI schema: a schemathesis fuzz run on the real stack.

Every operation is called with generated values (control characters in path parameters,
out-of-range numbers, missing fields ...) without the token, so nothing is written. The
run fails on a server error (5xx), a status code the schema does not document, or a
response that does not match its documented schema.

(schemathesis' pytest plugin does not load under this pytest, so each operation's
strategy runs in a Hypothesis test of its own here.)
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ghlake.platform import Platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def test_the_public_api_holds_to_its_schema(platform: Platform) -> None:
    url = platform.settings.api.url
    assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS, timeout=60)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every operation
            failures[operation.label] = str(exc)[:1500]
    assert operations >= 15
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
