"""Throughput and latency over HTTP: the real server process under a load generator.

The server is what production runs (`uvicorn clientcard.asgi:app`, one process) on a bench
database. GET /api/v1/lookup?phone=... rotates over known numbers with a bearer token;
GET /healthz runs under the same load (connections, duration, headers). /healthz is the
ceiling of the stack on this machine (uvicorn, FastAPI routing, no database), so the
look-up's share of it shows what the look-up itself costs. Load goes to 127.0.0.1 only and
is bounded in time (and, for the Python fallback, in count).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from bench.generate import CACHE_DIR, Dataset, Keys

HOST = "127.0.0.1"
BENCH_USER = "bench-http"
LUA_SCRIPT = Path(__file__).with_name("wrk_paths.lua")
MAX_PYTHON_REQUESTS = 200_000
ROUNDS = 5  # alternating rounds of /healthz and the look-up


@dataclass
class LoadResult:
    """One endpoint under load."""

    backend: str
    customers: int
    operation: str
    tool: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms_per_request: float | None
    rounds_rps: list[float] = field(default_factory=list)  # throughput of each round

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "http",
            "backend": self.backend,
            "customers": self.customers,
            "operation": self.operation,
            "tool": self.tool,
            "connections": self.connections,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
            "server_cpu_ms_per_request": self.server_cpu_ms_per_request,
            "rounds_rps": self.rounds_rps,
        }


def issue_token(url: str) -> str:
    """A bearer token of an agent, made with the service functions (no password login)."""
    from clientcard.auth import service as auth
    from clientcard.auth.actor import Role, system_actor
    from clientcard.auth.models import User
    from clientcard.auth.schemas import UserCreate
    from clientcard.base import utcnow
    from clientcard.config import Settings
    from clientcard.context import open_database

    database = open_database(Settings(database_url=url))
    try:
        with database.write() as session:
            user = session.scalars(select(User).where(User.username == BENCH_USER)).one_or_none()
            if user is None:
                data = UserCreate(
                    username=BENCH_USER,
                    password=secrets.token_urlsafe(24),
                    role=Role.AGENT,
                    display_name="Benchmark load",
                )
                user = auth.create_user(session, actor=system_actor("bench"), data=data)
            token, _ = auth.issue_token(
                session,
                user=user,
                kind=auth.API,
                name="bench",
                expires_at=utcnow() + dt.timedelta(hours=2),
            )
    finally:
        database.dispose()
    return token


def wrk_path(log=print) -> str | None:
    """wrk, installed from Debian when missing and we may; None means the Python fallback."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    log("wrk is not installed: trying apt-get install wrk ...")
    try:
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, check=True, capture_output=True, timeout=300)
    except (subprocess.SubprocessError, OSError) as exc:
        log(f"  could not install wrk ({exc}); using the Python load generator")
    return shutil.which("wrk")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(dataset: Dataset) -> Iterator[tuple[int, int]]:
    """The app served by uvicorn on a free local port; yields (port, pid)."""
    port = _free_port()
    uvicorn = Path(sys.executable).with_name("uvicorn")
    command = [str(uvicorn)] if uvicorn.exists() else [sys.executable, "-m", "uvicorn"]
    command += ["clientcard.asgi:app", "--host", HOST, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    env = {
        **os.environ,
        "CLIENTCARD_DATABASE_URL": dataset.url,
        "CLIENTCARD_DEMO_ON_FIRST_START": "false",
    }
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    log_path = CACHE_DIR / f"server-{dataset.backend}-{dataset.size}.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_ready(port, process, log_path)
            yield port, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz within 60 s; see {log_path}")


def _check_lookup(port: int, path: str, token: str) -> None:
    """One request by hand first: a load test of 401s or empty answers measures nothing."""
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    if not body.get("items"):
        raise RuntimeError(f"GET {path} found no customer for a known number")


def _run_wrk(
    wrk: str, port: int, paths: list[str], token: str, *, duration: float, conns: int, threads: int
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as listing:
        listing.write("\n".join(paths) + "\n")
    try:
        command = [wrk, "-t", str(threads), "-c", str(conns), "-d", f"{max(1, round(duration))}s"]
        command += ["--timeout", "5s", "-s", str(LUA_SCRIPT), f"http://{HOST}:{port}/"]
        completed = subprocess.run(
            command,
            env={**os.environ, "BENCH_PATHS": listing.name, "BENCH_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        )
    finally:
        os.unlink(listing.name)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "requests": raw["requests"],
        "seconds": raw["duration_us"] / 1e6,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": errors,
    }


async def _python_load(
    port: int, paths: list[str], token: str, *, duration: float, conns: int
) -> dict[str, Any]:
    """A small keep-alive HTTP/1.1 client for when wrk cannot be had (slower than wrk, so
    it understates the server's throughput; the table names the tool)."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    latencies: list[float] = []
    errors = 0
    issued = 0
    length_header = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
    started = time.perf_counter()
    deadline = started + duration

    async def connection(offset: int) -> None:
        nonlocal errors, issued
        reader, writer = await asyncio.open_connection(HOST, port)
        index = offset
        try:
            while time.perf_counter() < deadline and issued < MAX_PYTHON_REQUESTS:
                issued += 1
                path = paths[index % len(paths)]
                index += 1
                sent = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                match = length_header.search(head)
                await reader.readexactly(int(match.group(1)) if match else 0)
                latencies.append((time.perf_counter() - sent) * 1000)
                if head.split(b" ", 2)[1] != b"200":
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(k * 7919) for k in range(conns)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": time.perf_counter() - started,
        "p50_ms": latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        "errors": errors,
    }


def run(
    dataset: Dataset,
    keys: Keys,
    *,
    duration: float = 10.0,
    warmup: float = 2.0,
    connections: int = 32,
    threads: int = 2,
    log=print,
) -> list[LoadResult]:
    """GET /healthz and the phone look-up under the same load, `duration` seconds each, in
    `ROUNDS` alternating rounds; p50 and p99 are the medians of the rounds'."""
    wrk = wrk_path(log)
    tool = f"wrk -t{threads} -c{connections}" if wrk else f"python asyncio, {connections} conns"
    token = issue_token(dataset.url)
    lookups = [f"/api/v1/lookup?phone={quote(phone, safe='')}" for phone in keys.phones]
    endpoints = [("GET /healthz", ["/healthz"]), ("GET /api/v1/lookup?phone=", lookups)]

    def load(paths: list[str], seconds: float) -> dict[str, Any]:
        if wrk:
            return _run_wrk(
                wrk, port, paths, token, duration=seconds, conns=connections, threads=threads
            )
        return asyncio.run(_python_load(port, paths, token, duration=seconds, conns=connections))

    rounds: dict[str, list[tuple[dict[str, Any], float | None]]] = {op: [] for op, _ in endpoints}
    with server(dataset) as (port, pid):
        _check_lookup(port, lookups[0], token)
        load(lookups, warmup)  # token cache, connection pool, page cache
        # The endpoints take turns in short rounds, so that a machine whose speed drifts
        # (other tenants, frequency) weighs on both alike.
        for _ in range(ROUNDS):
            for operation, paths in endpoints:
                cpu_before = _cpu_seconds(pid)
                measured = load(paths, duration / ROUNDS)
                cpu_after = _cpu_seconds(pid)
                cpu = None
                if cpu_before is not None and cpu_after is not None:
                    cpu = cpu_after - cpu_before
                rounds[operation].append((measured, cpu))
    results = []
    for operation, measured in rounds.items():
        requests = sum(m["requests"] for m, _ in measured)
        cpus = [c for _, c in measured]
        cpu = None
        if requests and None not in cpus:
            cpu = round(sum(cpus) * 1000 / requests, 3)  # type: ignore[arg-type]
        results.append(
            LoadResult(
                dataset.backend,
                dataset.size,
                operation,
                tool,
                connections,
                requests=requests,
                seconds=sum(m["seconds"] for m, _ in measured),
                p50_ms=statistics.median(m["p50_ms"] for m, _ in measured),
                p99_ms=statistics.median(m["p99_ms"] for m, _ in measured),
                errors=sum(m["errors"] for m, _ in measured),
                server_cpu_ms_per_request=cpu,
                rounds_rps=[round(m["requests"] / m["seconds"], 1) for m, _ in measured],
            )
        )
    return results


def run_ingest(
    dataset: Dataset, keys: Keys, *, interactions: int, batches: int, clients: int = 2, log=print
):
    """POST /api/v1/interactions/batch of 1,000 items from `clients` concurrent keep-alive
    connections (threads with http.client), `batches` requests in all; the same item mix as
    in-process. What it stored is removed afterwards."""
    import http.client
    import threading
    from collections import Counter

    from bench.generate import remove_ingested
    from bench.interactions import BATCH_SIZE, Throughput, ingest_items

    remove_ingested(dataset)
    token = issue_token(dataset.url)
    items = ingest_items(keys, batches * BATCH_SIZE, prefix="http")
    bodies = [
        json.dumps({"items": items[k : k + BATCH_SIZE]}).encode()
        for k in range(0, len(items), BATCH_SIZE)
    ]
    warm = json.dumps({"items": ingest_items(keys, 200, prefix="http-warm")}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def client(port: int, share: list[bytes]) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=300)
        try:
            for body in share:
                sent = time.perf_counter()
                connection.request("POST", "/api/v1/interactions/batch", body, headers)
                response = connection.getresponse()
                answer = response.read()
                elapsed = (time.perf_counter() - sent) * 1000
                with lock:
                    latencies.append(elapsed)
                    if response.status != 200:  # a whole batch failed
                        outcomes[f"HTTP {response.status} batches"] += 1
                        failures.append(f"HTTP {response.status}: {answer[:200]!r}")
                        continue
                    for item in json.loads(answer)["items"]:
                        outcomes[item["result"]] += 1
        finally:
            connection.close()

    try:
        with server(dataset) as (port, _pid):
            client(port, [warm])
            latencies.clear()
            outcomes.clear()
            log(f"  HTTP batch ingestion: {len(bodies)} POSTs from {clients} clients ...")
            threads = [
                threading.Thread(target=client, args=(port, bodies[k::clients]))
                for k in range(clients)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
        return Throughput(
            dataset.backend,
            dataset.size,
            interactions,
            f"POST /interactions/batch of {BATCH_SIZE:,}",
            f"HTTP, {clients} clients",
            sum(v for k, v in outcomes.items() if not k.startswith("HTTP")),  # answered items
            seconds,
            latencies,
            dict(outcomes),
            0,
            failures,
        )
    finally:
        remove_ingested(dataset)
