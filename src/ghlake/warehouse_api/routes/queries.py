"""The query catalogue over HTTP: a GET route per entry with a path, and any query by name.

Each route's signature is made from its entry's typed parameters, so FastAPI parses
them and documents them (with their defaults and bounds) in the OpenAPI schema; the
entry itself checks bounds and windows (400 with the reason) and binds the values.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.concurrency import run_in_threadpool

from ghlake.warehouse import queries
from ghlake.warehouse.queries import CATALOGUE, Default, Param
from ghlake.warehouse_api.deps import ServiceDep

__all__ = ["router", "signature"]

router = APIRouter(tags=["queries"])


def _parameter(param: Param) -> inspect.Parameter:
    """A keyword parameter FastAPI reads from the path or the query string."""
    if param.in_path:
        marker: Any = Path(description=param.doc)
    else:
        low, high = param.bounds or (None, None)
        # Bounds are documented only: the entry checks them, with a 400 that says why.
        extra = {"minimum": low, "maximum": high} if param.bounds else None
        marker = Query(description=param.doc, json_schema_extra=extra)
    kind: Any = param.type
    default: object = inspect.Parameter.empty if param.required else param.default
    if isinstance(param.default, Default):
        kind, default = kind | None, None
    return inspect.Parameter(
        param.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[kind, marker],
    )


def signature(dependency: str, annotation: Any, query: queries.Query[Any]) -> inspect.Signature:
    """A route's signature: one dependency, then the entry's typed parameters.

    FastAPI parses and documents (OpenAPI) what the signature names; both the warehouse
    service and the public API build their catalogue routes with it.
    """
    first = inspect.Parameter(dependency, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
    return inspect.Signature([first, *map(_parameter, query.params)])


def _endpoint(query: queries.Query[Any]) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def endpoint(service: ServiceDep, **values: Any) -> dict[str, Any]:
        return {"rows": await run_in_threadpool(service.run, query, values)}

    endpoint.__signature__ = signature("service", ServiceDep, query)  # type: ignore[attr-defined]
    return endpoint


def _description(query: queries.Query[Any]) -> str:
    if not dataclasses.is_dataclass(query.row):
        return f"Runs `{query.name}.sql`."
    columns = ", ".join(f.name for f in dataclasses.fields(query.row))
    return f"Runs `{query.name}.sql`; each row: {columns}."


for _query in CATALOGUE.values():
    if _query.path is not None:
        router.add_api_route(
            _query.path, _endpoint(_query), methods=["GET"], name=_query.name,
            summary=_query.summary, description=_description(_query),
        )  # fmt: skip


@router.post(
    "/v1/queries/{name}", summary="any named query, parameters as its .sql file binds them"
)
async def run_named(
    name: str, service: ServiceDep, params: Annotated[dict[str, Any], Body(embed=True)]
) -> dict[str, Any]:
    """Rows of ``queries/<name>.sql`` with ``params`` bound by the engine as given."""
    return {"rows": await run_in_threadpool(service.run_named, name, params)}
