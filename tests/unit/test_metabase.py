"""Provisioning Metabase: a contract test against Metabase's documented REST API shapes.

Metabase cannot be installed here; ``tests/fakes/metabase_api.py`` serves its documented
endpoints over real HTTP and refuses what it refuses. The cards' SQL is checked against
the real warehouse through the JDBC driver in tests/integration/test_metabase_cards.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ghlake.errors import ConfigError
from ghlake.metabase.client import MetabaseClient, MetabaseError
from ghlake.metabase.content import load_content, rendered
from ghlake.metabase.provision import Provisioner, WarehouseConnection
from tests.fakes.metabase_api import FakeMetabase

FOLDER = Path(__file__).resolve().parents[2] / "metabase"
CONNECTION = WarehouseConnection("warehouse", 8123, "ghlake", "ghlake_analyst", "pw")


@pytest.fixture
def fake() -> Iterator[FakeMetabase]:
    server = FakeMetabase()
    yield server
    server.close()


def _provisioner(fake: FakeMetabase, **auth: str) -> Provisioner:
    client = MetabaseClient(fake.url, **(auth or {"api_key": fake.api_key}))
    return Provisioner(client, load_content(FOLDER), CONNECTION)


def test_the_content_declares_every_card_and_dashboard() -> None:
    content = load_content(FOLDER)
    assert {d.title for d in content.dashboards.values()} == {
        "Live", "Top repositories", "Repository drill-down", "Ingest health",
    }  # fmt: skip
    assert content.dashboards["live"].refresh == 60
    card = content.cards["repository_activity"]
    assert "repo_name = 'torvalds/linux'" in rendered(card)
    assert "repo_name = 'it\\'s'" in rendered(card, {"repo": "it's"})


def test_provisioning_creates_everything_then_only_updates(fake: FakeMetabase) -> None:
    content = load_content(FOLDER)
    first = _provisioner(fake).apply()
    assert {(s.action, s.kind) for s in first} == {
        ("create", "database"), ("create", "collection"), ("create", "card"),
        ("create", "dashboard"),
    }  # fmt: skip
    [database] = fake.objects["database"].values()
    assert database["engine"] == "clickhouse"
    assert database["details"]["port"] == 8123
    assert len(fake.objects["card"]) == len(content.cards)
    live = next(d for d in fake.objects["dashboard"].values() if d["name"] == "Live")
    assert [p["slug"] for p in live["parameters"]] == ["minutes"]
    ids = {kind: sorted(objects) for kind, objects in fake.objects.items()}
    dashcards = {
        d["id"]: [c["id"] for c in d["dashcards"]] for d in fake.objects["dashboard"].values()
    }

    second = _provisioner(fake, user=fake.user, password=fake.password).apply()
    assert {s.action for s in second} == {"update"}, "a second run creates nothing"
    assert {kind: sorted(objects) for kind, objects in fake.objects.items()} == ids
    assert {
        d["id"]: [c["id"] for c in d["dashcards"]] for d in fake.objects["dashboard"].values()
    } == dashcards, "dashcards keep their ids"


def test_dry_run_reads_only(fake: FakeMetabase) -> None:
    plan = _provisioner(fake).plan()
    assert {s.action for s in plan} == {"create"}
    assert fake.writes() == []
    assert all(method == "GET" for method, _, _ in fake.requests)


def test_refusals_are_metabase_errors(fake: FakeMetabase) -> None:
    with pytest.raises(MetabaseError, match="401"):
        _provisioner(fake, api_key="wrong").plan()
    with pytest.raises(MetabaseError, match="401"):
        _provisioner(fake, user=fake.user, password="wrong").plan()
    with pytest.raises(MetabaseError, match="API key"):
        MetabaseClient(fake.url, user="only-a-user")


def test_a_card_with_an_undeclared_tag_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "x.sql").write_text("SELECT {{undeclared}}")
    (tmp_path / "content.toml").write_text(
        'database = "d"\ncollection = "c"\n[cards.x]\ntitle = "X"\n'
    )
    with pytest.raises(ConfigError, match="undeclared"):
        load_content(tmp_path)
