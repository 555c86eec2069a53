"""What every JSON route shares: the request context (database, settings, actor), bearer
authentication and ETag/If-Match handling."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from clientcard.auth import service as auth
from clientcard.auth.actor import Actor
from clientcard.config import Settings
from clientcard.db import Database
from clientcard.errors import (
    FieldError,
    Invalid,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
)
from clientcard.schemas import MAX_INTEGER

_ETAG = re.compile(r'^(?:W/)?"?(\d+)"?$')


@dataclass(frozen=True)
class Services:
    """Process-wide objects, built once by the app factory."""

    db: Database
    settings: Settings
    tokens: auth.TokenCache


@dataclass(frozen=True)
class Ctx:
    db: Database
    settings: Settings
    tokens: auth.TokenCache
    actor: Actor


async def services(request: Request) -> Services:
    return request.app.state.services


def bearer_token(request: Request) -> str:
    """The token of the `Authorization: Bearer` header; 401 without one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


async def context(request: Request, svc: Services = Depends(services)) -> Ctx:
    """Authenticates the caller. A token seen recently costs no query."""
    check_integers(request)
    return await authenticated(request, svc)


async def authenticated(request: Request, svc: Services | None = None) -> Ctx:
    """`context` for a route that takes only the request (the screen pop): FastAPI's
    dependency and parameter machinery cost more than the look-up itself."""
    svc = svc or request.app.state.services
    token = bearer_token(request)
    actor = svc.tokens.get(auth.token_hash_of(token))
    if actor is None:
        actor = await run_in_threadpool(_resolve, svc, token)
    return Ctx(db=svc.db, settings=svc.settings, tokens=svc.tokens, actor=actor)


def _resolve(svc: Services, token: str) -> Actor:
    with svc.db.read() as session:
        return auth.resolve_token(session, token=token, cache=svc.tokens)


T = TypeVar("T")


async def hot_read(ctx: Ctx, work: Callable[[Session], T]) -> T:
    """Runs a short read (the card GET) in a read unit of work.

    Where reads run in process (`Database.reads_in_process`) such a read is so short that
    it runs on the event loop: the hop to a worker thread, and the GIL contention among
    those threads under load, cost more than the query (see docs/benchmarks.md, the raw
    SQL rows). Over the network
    it goes to the thread pool, so that waiting on the server never blocks the loop.
    """

    def run() -> T:
        with ctx.db.read() as session:
            return work(session)

    return run() if ctx.db.reads_in_process else await run_in_threadpool(run)


M = TypeVar("M", bound=BaseModel)


def query_model(request: Request, model: type[M]) -> M:
    """The query string read into `model`, for routes that parse it themselves. Errors are
    the same 422 as FastAPI's, naming the parameter; parameters the model lacks are ignored,
    as FastAPI ignores them."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI parameter objects for `model`'s fields, for the routes using `query_model`."""
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", []),
            "description": field.pop("description", ""),
            "schema": field,
        }
        for name, field in schema["properties"].items()
    ]


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(request: Request, *, required: bool) -> int | None:
    """The version named by If-Match; None for `*` or, when allowed, for no header."""
    value = request.headers.get("if-match")
    if value is None:
        if required:
            raise PreconditionRequired(
                "send If-Match with the ETag (version) you read, so that a concurrent change "
                "is not overwritten",
                errors=[FieldError("If-Match", "is required")],
            )
        return None
    value = value.strip()
    if value == "*":
        return None
    match = _ETAG.match(value)
    if match is None:
        raise PreconditionFailed(
            f"If-Match {value!r} names no version", errors=[FieldError("If-Match", "malformed")]
        )
    return int(match.group(1))


_INTEGER_PARAMS = "clientcard_integer_params"


def _integer_params(route: Any) -> tuple[str, ...]:
    """The path and query parameters a route takes as integers, found once per route."""
    names = getattr(route, _INTEGER_PARAMS, None)
    if names is None:
        found: list[str] = []
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            pending.extend(dependant.dependencies)
            for param in dependant.path_params + dependant.query_params:
                if _takes_int(param.field_info.annotation):
                    found.append(param.alias)
        names = tuple(found)
        setattr(route, _INTEGER_PARAMS, names)
    return names


def _takes_int(annotation: Any) -> bool:
    """int, int | None, list[int], ..."""
    return annotation is int or any(_takes_int(arg) for arg in get_args(annotation))


def check_integers(request: Request) -> None:
    """Refuses, naming the parameter, a path or query integer the databases cannot hold
    (ids are 64-bit): a query would fail on it instead of finding nothing. Called by the
    request contexts of the API (`context`) and of the pages (`web.context.page`), which
    every route with an id in its path or query takes."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    for name in _integer_params(route):
        for value in [request.path_params.get(name), *request.query_params.getlist(name)]:
            # isdecimal, not isdigit: int() refuses digits such as "²", which isdigit accepts
            digits = isinstance(value, str) and len(value) > 18 and value.lstrip("+-").isdecimal()
            if digits and abs(int(value)) > MAX_INTEGER:
                raise Invalid.field(name, f"is out of range (at most {MAX_INTEGER} either way)")
