"""A local Metabase REST API with the documented request and answer shapes (a contract fake).

Metabase itself is in no registry here, so provisioning is tested against this fake,
served over real HTTP. It holds what Metabase's API documents for the endpoints ghlake
uses (https://www.metabase.com/docs/latest/api), and refuses what Metabase refuses:

* ``POST /api/session`` ``{"username", "password"}`` answers ``{"id": <session>}``; every
  other call needs ``X-Metabase-Session`` or ``X-API-KEY`` (else 401 "Unauthenticated").
* ``GET /api/database`` answers ``{"data": [...], "total": n}``; ``POST``/``PUT`` need
  ``name``, ``engine`` and a ``details`` object.
* ``GET /api/collection`` lists collections, the root (``"id": "root"``) first.
* ``GET /api/card?f=all``, ``POST``/``PUT /api/card``: ``name``, ``display``,
  ``visualization_settings`` and a ``dataset_query`` (native: ``query`` and
  ``template-tags`` whose entries have ``id``, ``name``, ``display-name``, ``type``).
* ``GET /api/dashboard/?f=all``, ``GET``/``POST /api/dashboard``, ``PUT /api/dashboard/:id``
  with ``dashcards`` (``id`` (negative: new), ``card_id``, ``row``, ``col``, ``size_x``,
  ``size_y``, ``parameter_mappings`` naming a dashboard ``parameters`` id).

Every request is recorded (method, path, body).
"""

from __future__ import annotations

import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

__all__ = ["FakeMetabase"]


class _RefusedError(Exception):
    def __init__(self, status: int, body: object) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _need(body: dict[str, Any], *fields: str) -> None:
    missing = [f for f in fields if f not in body]
    if missing:
        raise _RefusedError(400, {"errors": dict.fromkeys(missing, "value must be present")})


class FakeMetabase:
    """Metabase's REST API in memory, on a free loopback port."""

    def __init__(self, api_key: str = "mb-key", user: str = "admin@x", password: str = "pw"):
        self.api_key, self.user, self.password = api_key, user, password
        self.requests: list[tuple[str, str, object]] = []
        self.objects: dict[str, dict[int, dict[str, Any]]] = {
            "database": {}, "collection": {}, "card": {}, "dashboard": {}
        }  # fmt: skip
        self._ids = itertools.count(1)
        self._sessions: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = orjson.loads(raw) if raw and raw != b"null" else None
                fake.requests.append((self.command, self.path, body))
                try:
                    status, answer = 200, fake.answer(self.command, self.path, body, self.headers)
                except _RefusedError as refused:
                    status, answer = refused.status, refused.body
                data = orjson.dumps(answer)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def writes(self) -> list[tuple[str, str, object]]:
        """Recorded requests that change something (logins aside)."""
        return [r for r in self.requests if r[0] != "GET" and r[1] != "/api/session"]

    def answer(self, method: str, path: str, body: Any, headers: Any) -> object:  # noqa: PLR0911, PLR0912
        """The answer to one request (raises :class:`_RefusedError` for a refusal)."""
        if (method, path) == ("POST", "/api/session"):
            if body != {"username": self.user, "password": self.password}:
                raise _RefusedError(401, {"errors": {"password": "did not match stored password"}})
            session = f"session-{next(self._ids)}"
            self._sessions.add(session)
            return {"id": session}
        key, session = headers.get("X-API-KEY"), headers.get("X-Metabase-Session")
        if key != self.api_key and session not in self._sessions:
            raise _RefusedError(401, "Unauthenticated")
        parts = path.split("?", maxsplit=1)[0].strip("/").split("/")[1:]
        kind = parts[0] if parts else ""
        if kind not in self.objects:
            raise _RefusedError(404, "API endpoint does not exist.")
        store = self.objects[kind]
        if method == "GET" and len(parts) == 1:
            listed = list(store.values())
            if kind == "database":
                return {"data": listed, "total": len(listed)}
            if kind == "collection":
                return [{"id": "root", "name": "Our analytics"}, *listed]
            return listed
        if method == "GET":
            return store[int(parts[1])]
        if not isinstance(body, dict):
            raise _RefusedError(400, {"errors": {"body": "must be a map"}})
        self._check(kind, body)
        if method == "POST" and len(parts) == 1:
            new = {**body, "id": next(self._ids), "archived": False}
            if kind == "dashboard":
                new.update(dashcards=[], parameters=[])
            store[new["id"]] = new
            return new
        if method == "PUT" and len(parts) == 2 and int(parts[1]) in store:
            current = store[int(parts[1])]
            if kind == "dashboard" and "dashcards" in body:
                body = {**body, "dashcards": self._dashcards(body)}
            current.update(body)
            return current
        raise _RefusedError(404, "Not found.")

    def _check(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "database":
            _need(body, "name", "engine", "details")
        elif kind == "collection":
            _need(body, "name")
        elif kind == "card":
            _need(body, "name", "display", "visualization_settings", "dataset_query")
            query = body["dataset_query"]
            _need(query, "type", "database", "native")
            for tag in query["native"].get("template-tags", {}).values():
                _need(tag, "id", "name", "display-name", "type")
        elif kind == "dashboard" and "dashcards" not in body:
            _need(body, "name")

    def _dashcards(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        parameters = {p["id"] for p in body.get("parameters", [])}
        out = []
        for dashcard in body["dashcards"]:
            _need(dashcard, "id", "card_id", "row", "col", "size_x", "size_y")
            if dashcard["card_id"] not in self.objects["card"]:
                raise _RefusedError(400, {"errors": {"card_id": "no such card"}})
            for mapping in dashcard.get("parameter_mappings", []):
                if mapping["parameter_id"] not in parameters:
                    raise _RefusedError(
                        400, {"errors": {"parameter_mappings": "unknown parameter"}}
                    )
            new_id = dashcard["id"] if dashcard["id"] > 0 else next(self._ids)
            out.append({**dashcard, "id": new_id})
        return out
