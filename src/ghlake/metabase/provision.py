"""Provisioning ghlake's Metabase content, idempotently, through Metabase's REST API.

Each object is found by name (the database connection among databases, the collection
among collections, cards and dashboards inside the collection), then updated, or created
when missing; a second run creates nothing and keeps every id. ``dry_run`` only reads
(GETs) and returns the plan. The endpoints and payloads are Metabase's documented ones:

- ``GET/POST /api/database``, ``PUT /api/database/:id`` (engine ``clickhouse``, details
  host, port, dbname, user, password, ssl)
- ``GET/POST /api/collection``
- ``GET /api/card?f=all``, ``POST /api/card``, ``PUT /api/card/:id`` (a native
  ``dataset_query`` with ``template-tags``)
- ``GET /api/dashboard/?f=all``, ``GET/POST /api/dashboard``, ``PUT /api/dashboard/:id``
  (``dashcards`` with ``parameter_mappings``, and ``parameters``: one filter per tag)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ghlake.metabase.client import MetabaseClient
from ghlake.metabase.content import Card, Content, Dashboard

__all__ = ["Provisioner", "Step", "WarehouseConnection"]

_FILTER_TYPES = {"number": "number/=", "text": "string/=", "date": "date/single"}


@dataclass(frozen=True)
class WarehouseConnection:
    """How Metabase reaches the warehouse's ClickHouse interface."""

    host: str
    port: int
    database: str
    user: str
    password: str


@dataclass(frozen=True)
class Step:
    """One thing provisioning does (or would do): create or update a named object."""

    action: str
    kind: str
    name: str


class Provisioner:
    """Puts ``content`` into the Metabase behind ``client``."""

    def __init__(
        self, client: MetabaseClient, content: Content, connection: WarehouseConnection
    ) -> None:
        self.client, self.content, self.connection = client, content, connection
        self._fake_ids = 0

    def plan(self) -> list[Step]:
        """What :meth:`apply` would do, from what Metabase holds now (reads only)."""
        return self._run(write=False)

    def apply(self) -> list[Step]:
        """Create or update the database connection, collection, cards and dashboards."""
        return self._run(write=True)

    def _run(self, *, write: bool) -> list[Step]:
        steps: list[Step] = []
        database = self._database(write, steps)
        collection = self._upsert(
            "collection", self.content.collection, existing=self._collections(),
            path="/api/collection", body={"name": self.content.collection, "color": "#509EE3"},
            write=write, steps=steps,
        )  # fmt: skip
        cards = {c["name"]: c["id"] for c in self._in(collection, "/api/card?f=all")}
        card_ids = {}
        for card in self.content.cards.values():
            card_ids[card.key] = self._upsert(
                "card", card.title, existing=cards, path="/api/card",
                body=self._card_payload(card, database, collection), write=write, steps=steps,
            )  # fmt: skip
        boards = {d["name"]: d["id"] for d in self._in(collection, "/api/dashboard/?f=all")}
        for dashboard in self.content.dashboards.values():
            body = {"name": dashboard.title, "collection_id": collection}
            board = self._upsert(
                "dashboard", dashboard.title, existing=boards, path="/api/dashboard", body=body,
                write=write, steps=steps, update=False,
            )  # fmt: skip
            if write:
                layout = self._layout(dashboard, board, card_ids)
                self.client.request("PUT", f"/api/dashboard/{board}", layout)
        return steps

    def _database(self, write: bool, steps: list[Step]) -> int:
        answer = self.client.request("GET", "/api/database")
        found = answer["data"] if isinstance(answer, dict) else answer
        existing = {d["name"]: d["id"] for d in found}
        c = self.connection
        body = {
            "name": self.content.database, "engine": "clickhouse",
            "details": {"host": c.host, "port": c.port, "dbname": c.database, "user": c.user,
                        "password": c.password, "ssl": False},
        }  # fmt: skip
        return self._upsert(
            "database", self.content.database, existing=existing, path="/api/database",
            body=body, write=write, steps=steps,
        )  # fmt: skip

    def _collections(self) -> dict[str, int]:
        found = self.client.request("GET", "/api/collection")
        return {
            c["name"]: c["id"]
            for c in found
            if isinstance(c.get("id"), int) and not c.get("archived")
        }

    def _in(self, collection: int, path: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.request("GET", path)
        return [x for x in found if x.get("collection_id") == collection and not x.get("archived")]

    def _upsert(
        self, kind: str, name: str, *, existing: dict[str, int], path: str,
        body: dict[str, Any], write: bool, steps: list[Step], update: bool = True,
    ) -> int:  # fmt: skip
        """The id of ``name``: updated (PUT) when it exists, else created (POST)."""
        if name in existing:
            steps.append(Step("update", kind, name))
            if write and update:
                self.client.request("PUT", f"{path}/{existing[name]}", body)
            return existing[name]
        steps.append(Step("create", kind, name))
        if not write:
            self._fake_ids -= 1
            return self._fake_ids
        return int(self.client.request("POST", path, body)["id"])

    def _card_payload(self, card: Card, database: int, collection: int) -> dict[str, Any]:
        tags = {
            t.name: {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ghlake/{card.key}/{t.name}")),
                     "name": t.name, "display-name": t.label, "type": t.type,
                     "default": t.default, "required": True}
            for t in card.tags
        }  # fmt: skip
        return {
            "name": card.title, "display": card.display, "collection_id": collection,
            "description": card.sql.splitlines()[0].removeprefix("-- "),
            "visualization_settings": {},
            "dataset_query": {"type": "native", "database": database,
                              "native": {"query": card.sql, "template-tags": tags}},
        }  # fmt: skip

    def _layout(self, dashboard: Dashboard, board: int, card_ids: dict[str, int]) -> dict[str, Any]:
        """The dashboard's dashcards (existing ones keep their ids) and filters."""
        current = self.client.request("GET", f"/api/dashboard/{board}")
        kept = {d["card_id"]: d["id"] for d in current.get("dashcards", [])}
        parameters: dict[str, dict[str, Any]] = {}
        dashcards = []
        for i, placed in enumerate(dashboard.cards):
            card = self.content.cards[placed.card]
            card_id = card_ids[placed.card]
            for tag in card.tags:
                parameters[tag.name] = {
                    "id": tag.name, "name": tag.label, "slug": tag.name,
                    "type": _FILTER_TYPES[tag.type], "default": tag.default,
                }  # fmt: skip
            mappings = [
                {"parameter_id": t.name, "card_id": card_id,
                 "target": ["variable", ["template-tag", t.name]]}
                for t in card.tags
            ]  # fmt: skip
            dashcards.append(
                {"id": kept.get(card_id, -(i + 1)), "card_id": card_id, "row": placed.row,
                 "col": placed.col, "size_x": placed.width, "size_y": placed.height,
                 "parameter_mappings": mappings, "visualization_settings": {}}
            )  # fmt: skip
        return {"dashcards": dashcards, "parameters": list(parameters.values())}
