"""What every JSON route shares: the request context (database, settings, actor), bearer
authentication and ETag/If-Match handling."""

from __future__ import annotations

import functools
import json
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
from clientcard.validation import (
    NUL_MESSAGE,
    JsonRefused,
    check_json,
    has_nul,
    is_integer_text,
    loads_strict,
)

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
    check_request(request, strict_query=True)
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
    the same 422 as FastAPI's, naming the parameter; parameters the model lacks are refused,
    as `check_request` refuses them."""
    query = request.query_params
    check_query_names(request, _parameter_names(model))
    for name, value in query.multi_items():
        if has_nul(value):
            raise Invalid.field(name, NUL_MESSAGE)
    try:
        return model.model_validate(dict(query))
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


@functools.cache
def _parameter_names(model: type[BaseModel]) -> frozenset[str]:
    """The query parameters `model` reads, found once per model (the screen pop's route
    runs `query_model` at every call)."""
    return frozenset(field.alias or name for name, field in model.model_fields.items())


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


_ROUTE_PARAMS = "clientcard_route_params"


@dataclass(frozen=True)
class _RouteParams:
    integers: tuple[str, ...]  # path and query parameters taken as integers
    query: frozenset[str]  # every query parameter the route declares


def _route_params(route: Any) -> _RouteParams:
    """The parameters a route declares, found once per route."""
    found = getattr(route, _ROUTE_PARAMS, None)
    if found is None:
        integers: list[str] = []
        query: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            pending.extend(dependant.dependencies)
            query.update(param.alias for param in dependant.query_params)
            for param in dependant.path_params + dependant.query_params:
                if _takes_int(param.field_info.annotation):
                    integers.append(param.alias)
        found = _RouteParams(tuple(integers), frozenset(query))
        setattr(route, _ROUTE_PARAMS, found)
    return found


def _takes_int(annotation: Any) -> bool:
    """int, int | None, list[int], ..."""
    return annotation is int or any(_takes_int(arg) for arg in get_args(annotation))


def check_request(request: Request, *, strict_query: bool) -> None:
    """The rules for what a URL carries, named by parameter: no NUL in any path or query
    value (`clientcard.validation`); integers written as plain digits (not ` 1` or `1_0`)
    that the databases can hold (ids are 64-bit), so a query never fails on input; and,
    with `strict_query`, no query parameter the route does not declare. Called by the
    request contexts of the API (`context`, strict) and of the pages (`web.context.page`,
    which let a browser's extra parameters by), which every such route takes."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    params = _route_params(route)
    if strict_query:
        check_query_names(request, params.query)
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if isinstance(value, str) and has_nul(value):
            raise Invalid.field(name, NUL_MESSAGE)
    for name in params.integers:
        for value in [request.path_params.get(name), *request.query_params.getlist(name)]:
            if isinstance(value, str):
                check_integer(name, value)


def check_integer(name: str, value: str) -> None:
    if not is_integer_text(value):
        raise Invalid.field(name, "is not an integer")
    if len(value) > 18 and abs(int(value)) > MAX_INTEGER:
        raise Invalid.field(name, f"is out of range (at most {MAX_INTEGER} either way)")


def check_query_names(request: Request, known: frozenset[str] | set[str]) -> None:
    """Refuses query parameters the route does not take, naming each: a misspelt filter
    would otherwise be ignored and the list answer as if it were not there."""
    names = request.query_params.keys()
    if not known.issuperset(names):
        unknown = sorted(set(names) - set(known))
        errors = [FieldError(name, "is not a known parameter") for name in unknown]
        raise Invalid("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


# ---- strict JSON bodies ------------------------------------------------------------------

PROBLEM = "application/problem+json"


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether FastAPI would read the body as JSON: no content type, or a JSON one."""
    for name, value in headers:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True


class StrictJsonBody:
    """ASGI middleware: a JSON request body is read once here and held to the JSON rules of
    `clientcard.validation` (no NaN, Infinity, overflowing numbers or repeated keys; no NUL
    in any text) before any route sees it. A breach is a 422 problem naming the field; a
    body that is not JSON at all is left to the route, which names it. A body larger than
    `max_bytes` is a 413, refused by its announced length before it is read, or as soon
    as what arrives passes the limit, so that no request can hold a process's memory."""

    def __init__(self, app: Any, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if not _is_json(scope.get("headers", [])):
            await self.app(scope, receive, send)
            return
        if _announced_length(scope.get("headers", [])) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        error = _json_error(body)
        if error is not None:
            await _problem(send, error)
            return
        await self.app(scope, _replay([body], None, receive), send)


def _json_error(body: bytes) -> FieldError | None:
    if not body.strip():
        return None
    try:
        value = loads_strict(body)
    except JsonRefused as exc:
        return exc.error
    except ValueError:  # not JSON: the route's own parsing names it
        return None
    # A NUL can only be in JSON text as the escape \u0000: most bodies skip the walk.
    if b"\\u0000" in body:
        try:
            check_json(value, max_depth=1_000)
        except JsonRefused as exc:
            return exc.error
    return None


def _replay(bodies: list[bytes], pending: Any, receive: Any) -> Any:
    """A `receive` that hands the route the body already read, then the real channel."""
    queue: list[Any] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if pending is not None:
        queue.append(pending)

    async def replay() -> Any:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


def _announced_length(headers: list[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _problem(send: Any, error: FieldError) -> None:
    await _send_problem(
        send,
        {
            "type": "about:blank",
            "title": "Validation failed",
            "status": 422,
            "detail": f"{error.field}: {error.message}",
            "errors": [{"field": error.field, "message": error.message}],
        },
    )


async def _too_large(send: Any, max_bytes: int) -> None:
    message = f"is larger than {max_bytes} bytes"
    await _send_problem(
        send,
        {
            "type": "about:blank",
            "title": "Content too large",
            "status": 413,
            "detail": f"body: {message}",
            "errors": [{"field": "body", "message": message}],
        },
    )


async def _send_problem(send: Any, problem: dict[str, Any]) -> None:
    payload = json.dumps(problem).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": problem["status"], "headers": headers})
    await send({"type": "http.response.body", "body": payload})
