"""`python -m bench`: build (or reuse) the bench databases, time everything, print one table.

Benchmarks report; they never assert timings. The targets from the issues are printed next
to the numbers: in-process look-up p99 under 5 ms and flat from the smallest to the largest
size; over HTTP, look-up throughput at least half of /healthz's; batch ingestion at least
5,000 interactions/s on SQLite in one process; the first timeline page of a customer with
10,000 interactions p99 under 10 ms in-process, flat as the base grows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from bench import card_page, generate, http, inprocess
from bench import interactions as interactions_bench
from clientcard.process import tune_collector

RESULTS = Path(__file__).with_name("results") / "latest.json"
P99_TARGET_MS = 5.0
FLAT_FACTOR = 2.0  # "flat": p99 at the largest size at most this many times the smallest's
HTTP_SHARE_TARGET = 0.5
INGEST_TARGET_PER_S = 5_000.0  # batch, SQLite, one process
TIMELINE_P99_TARGET_MS = 10.0
CARD_PAGE_P99_TARGET_MS = 50.0
PARTS = ("screenpop", "ingestion", "timeline", "card")
console = Console(width=max(Console().width, 140))


def _parts(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown parts: {', '.join(sorted(unknown))}")
    return parts


def _sizes(text: str) -> list[int]:
    return sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", type=_sizes, help="customer counts (default 10000,1000000)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--skip-http", action="store_true", help="in-process benchmarks only")
    parser.add_argument("--quick", action="store_true", help="small sizes, few keys, short loads")
    parser.add_argument("--keys", type=int, help="known keys per operation (default 2000)")
    parser.add_argument("--duration", type=float, help="seconds of load per endpoint (10)")
    parser.add_argument("--connections", type=int, default=32, help="HTTP connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate cached databases")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument(
        "--only",
        type=_parts,
        default=list(PARTS),
        help="comma-separated parts to run: screenpop,ingestion,timeline,card (default: all)",
    )
    parser.add_argument("--batches", type=int, help="ingestion batches of 1,000 (default 20)")
    parser.add_argument("--singles", type=int, help="one-item ingestion calls (default 1000)")
    parser.add_argument(
        "--http-batches", type=int, help="ingestion batches POSTed over HTTP (default 20)"
    )
    parser.add_argument("--ingest-clients", type=int, default=2, help="HTTP ingestion clients")
    parser.add_argument("--timeline-calls", type=int, help="calls per timeline row (1000)")
    parser.add_argument("--card-pages", type=int, help="card pages rendered per size (1000)")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or ([1_000, 5_000] if args.quick else [10_000, 1_000_000])
    args.keys = args.keys or (300 if args.quick else 2_000)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup_seconds = 1.0 if args.quick else 2.0
    args.batches = args.batches or (2 if args.quick else 20)
    args.singles = args.singles or (100 if args.quick else 1_000)
    args.http_batches = args.http_batches or (2 if args.quick else 20)
    args.timeline_calls = args.timeline_calls or (200 if args.quick else 1_000)
    args.card_pages = args.card_pages or (200 if args.quick else 1_000)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    return args


def _log(message: str) -> None:
    console.print(f"[dim]{message}[/dim]")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    postgres_url = os.environ.get("CLIENTCARD_BENCH_POSTGRES_URL", "").strip()
    if "postgresql" in args.backends and not postgres_url:
        args.backends.remove("postgresql")
        console.print(
            Panel(
                "[bold]PostgreSQL benchmarks SKIPPED[/bold]: CLIENTCARD_BENCH_POSTGRES_URL is "
                "empty.\nRun `make bench` (as root it starts the local cluster) or set the "
                "variable to a postgresql+psycopg:// URL of a scratch database.",
                style="bold red",
            )
        )
    started = time.perf_counter()

    datasets: list[generate.Dataset] = []
    for backend in args.backends:
        for size in args.sizes:
            if backend == "sqlite":
                datasets.append(generate.ensure_sqlite(size, rebuild=args.rebuild, log=_log))
            else:
                datasets.append(
                    generate.ensure_postgres(postgres_url, size, rebuild=args.rebuild, log=_log)
                )
    screenpop = "screenpop" in args.only
    loaded: dict[tuple[str, int], generate.InteractionSet] = {}
    if "timeline" in args.only or "ingestion" in args.only:
        for d in datasets:
            if "timeline" in args.only or d.size == max(args.sizes):
                loaded[d.backend, d.size] = generate.ensure_interactions(
                    d, rebuild=args.rebuild, log=_log
                )
    keys = {(d.backend, d.size): generate.sample_keys(d, args.keys) for d in datasets}

    # The in-process rows run in a process tuned as a server process is (`clientcard.asgi`);
    # the ingestion part adds a row with Python's default collector beside it.
    tune_collector()
    load_before = os.getloadavg()
    cpu_reference = _cpu_reference()
    plans = {}
    if screenpop:
        plans = {
            f"{d.backend} {d.size}": inprocess.query_plans(d, keys[d.backend, d.size])
            for d in datasets
        }
    measurements: list[inprocess.Measurement] = []
    for dataset in datasets:
        key = (dataset.backend, dataset.size)
        if screenpop:
            _log(f"in-process: {dataset.backend}, {dataset.size:,} customers ...")
            warmup = args.keys  # one pass over the keys: the p99 of a warm cache, not of disk reads
            measurements += inprocess.run(dataset, keys[key], warmup=warmup)
        if "timeline" in args.only:
            _log(f"timeline: {dataset.backend}, {loaded[key].interactions:,} interactions ...")
            timed, timeline_plans = interactions_bench.run_timeline(
                dataset, loaded[key], keys[key], repeat=args.timeline_calls
            )
            measurements += timed
            plans.setdefault(f"{dataset.backend} {dataset.size}", {}).update(timeline_plans)
        if "card" in args.only:
            _log(f"card page: {dataset.backend}, {dataset.size:,} customers ...")
            measurements += card_page.run(dataset, keys[key], repeat=args.card_pages)

    ingestion: list[interactions_bench.Throughput] = []
    if "ingestion" in args.only:
        for backend in args.backends:
            dataset = max((d for d in datasets if d.backend == backend), key=lambda d: d.size)
            base = loaded[backend, dataset.size].interactions
            _log(f"ingestion: {backend}, {dataset.size:,} customers, {base:,} interactions")
            ingest_keys = generate.sample_keys(dataset, max(args.keys, 10_000))
            ingestion += interactions_bench.run_ingestion(
                dataset,
                ingest_keys,
                interactions=base,
                batches=args.batches,
                singles=args.singles,
                log=_log,
            )
            if not args.skip_http:
                ingestion.append(
                    http.run_ingest(
                        dataset,
                        ingest_keys,
                        interactions=base,
                        batches=args.http_batches,
                        clients=args.ingest_clients,
                        log=_log,
                    )
                )

    loads: list[http.LoadResult] = []
    if screenpop and not args.skip_http:
        for backend in args.backends:
            dataset = max((d for d in datasets if d.backend == backend), key=lambda d: d.size)
            _log(f"HTTP: {backend}, {dataset.size:,} customers, {args.duration:g} s per endpoint")
            loads += http.run(
                dataset,
                keys[backend, dataset.size],
                duration=args.duration,
                warmup=args.warmup_seconds,
                connections=args.connections,
                threads=args.threads,
                log=_log,
            )

    print_generation(datasets, loaded)
    if args.explain:
        for name, queries in plans.items():
            for query, plan in queries.items():
                console.print(Panel(plan, title=f"{name}: {query}", expand=False))
    print_results(measurements, loads, ingestion)
    load = {"before": load_before, "after": os.getloadavg(), "cpu_reference_s": cpu_reference}
    console.print(
        f"[dim]Load average (1, 5, 15 min) before the timings {_loads(load['before'])}, "
        f"after {_loads(load['after'])} on {os.cpu_count()} CPUs: other work on the machine "
        f"shows up in p99. CPU reference: {cpu_reference:.3f} s for a fixed pure-Python loop "
        "(lower is faster; compare runs on different machines by it).[/dim]"
    )
    path = write_json(
        args,
        datasets,
        measurements,
        loads,
        time.perf_counter() - started,
        plans=plans,
        load=load,
        ingestion=ingestion,
        loaded=loaded,
    )
    console.print(f"results written to {path}")
    return 0


def _loads(values: tuple[float, ...]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


# ---- reporting ---------------------------------------------------------------------------


def _in_process_verdicts(measurements: list[inprocess.Measurement]) -> dict[int, str]:
    """Target verdicts of the service look-ups, keyed by id() of the measurement."""
    verdicts: dict[int, str] = {}
    for m in measurements:
        if m.operation.startswith("card page"):
            verdicts[id(m)] = _card_verdict(m, measurements)
            continue
        if m.operation.startswith("timeline") and "raw SQL" not in m.operation:
            verdicts[id(m)] = _timeline_verdict(m, measurements)
            continue
        if not m.operation.startswith("lookup") or "service" not in m.operation:
            continue
        same = sorted(
            (x for x in measurements if (x.backend, x.operation) == (m.backend, m.operation)),
            key=lambda x: x.customers,
        )
        parts = ["ok" if m.p99_ms < P99_TARGET_MS else f"MISS p99 {m.p99_ms:.2f} ms"]
        if len(same) > 1 and m is same[-1]:
            factor = m.p99_ms / same[0].p99_ms if same[0].p99_ms else float("inf")
            flat = "flat" if factor <= FLAT_FACTOR else "NOT FLAT"
            parts.append(f"{flat} x{factor:.2f} vs {same[0].customers:,}")
        if m.found < len(m.samples_ms):
            parts.append(f"{len(m.samples_ms) - m.found} keys not found!")
        verdicts[id(m)] = "; ".join(parts)
    return verdicts


def _card_verdict(m: inprocess.Measurement, measurements: list) -> str:
    target = CARD_PAGE_P99_TARGET_MS
    parts = ["ok" if m.p99_ms < target else f"MISS p99 {m.p99_ms:.2f} ms"]
    same = sorted(
        (x for x in measurements if x.backend == m.backend and x.operation.startswith("card")),
        key=lambda x: x.customers,
    )
    if len(same) > 1 and m is same[-1]:
        factor = m.p99_ms / same[0].p99_ms if same[0].p99_ms else float("inf")
        parts.append(f"{'flat' if factor <= FLAT_FACTOR else 'NOT FLAT'} x{factor:.2f}")
    return "; ".join(parts)


def _timeline_verdict(m: inprocess.Measurement, measurements: list) -> str:
    target = TIMELINE_P99_TARGET_MS
    parts = ["ok" if m.p99_ms < target else f"MISS p99 {m.p99_ms:.2f} ms"]
    same = sorted(
        (x for x in measurements if (x.backend, x.operation) == (m.backend, m.operation)),
        key=lambda x: x.customers,
    )
    if len(same) > 1 and m is same[-1]:
        factor = m.p99_ms / same[0].p99_ms if same[0].p99_ms else float("inf")
        flat = "flat" if factor <= FLAT_FACTOR else "NOT FLAT"
        parts.append(f"{flat} x{factor:.2f} vs {same[0].customers:,}")
    if m.found < len(m.samples_ms):
        parts.append(f"{len(m.samples_ms) - m.found} empty pages!")
    return "; ".join(parts)


def _ingestion_verdict(t: interactions_bench.Throughput) -> tuple[str, str]:
    """(target, result) of one ingestion row."""
    counts = ", ".join(f"{v:,} {k}" for k, v in sorted(t.outcomes.items()))
    if t.leads:
        counts += f", {t.leads:,} leads"
    target, verdict = "reference", ""
    if (
        t.backend == "sqlite"
        and t.mode == "in-process"
        and t.operation == interactions_bench.BATCH_OPERATION
    ):
        target = f">= {INGEST_TARGET_PER_S:,.0f}/s"
        verdict = "ok" if t.per_second >= INGEST_TARGET_PER_S else "MISS"
    if t.errors or t.outcomes.get("error"):
        verdict += " errors!"
    return target, "; ".join(p for p in (verdict.strip(), counts) if p)


def _style(verdict: str) -> str:
    if not verdict:
        return ""
    return "red" if ("MISS" in verdict or "NOT" in verdict or "!" in verdict) else "green"


def print_generation(
    datasets: list[generate.Dataset],
    loaded: dict[tuple[str, int], generate.InteractionSet] | None = None,
) -> None:
    table = Table(title="Bench databases")
    columns = ("database", "customers", "contact points", "generation", "this run")
    columns += ("interactions", "heavy customer", "interactions load", "this run", "size")
    for column in columns:
        table.add_column(column, justify="right" if column != "database" else "left")
    for d in datasets:
        i = (loaded or {}).get((d.backend, d.size))
        extra = ("", "", "", "", "")
        if i is not None:
            extra = (
                f"{i.interactions:,}",
                f"#{i.heavy_customer}: {i.heavy_interactions:,}",
                f"{i.generated_seconds:.1f} s",
                "cached" if i.cached else "generated",
                f"{i.bytes / 2**30:.2f} GiB" if i.bytes else "",
            )
        table.add_row(
            d.backend,
            f"{d.customers:,}",
            f"{d.contact_points:,}",
            f"{d.generated_seconds:.1f} s",
            "cached" if d.cached else "generated",
            *extra,
        )
    console.print(table)
    if loaded:
        console.print(
            "[dim]size: the SQLite file; on PostgreSQL customers, contact points and "
            "interactions with their indexes.[/dim]"
        )


def print_results(
    measurements: list[inprocess.Measurement],
    loads: list[http.LoadResult],
    ingestion: list[interactions_bench.Throughput] | None = None,
) -> None:
    table = Table(title="clientcard benchmarks")
    table.add_column("database")
    table.add_column("customers", justify="right")
    table.add_column("operation")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("per s", justify="right")
    table.add_column("target")
    table.add_column("result")
    verdicts = _in_process_verdicts(measurements)
    previous = None
    for m in measurements:
        if previous and (previous.backend, previous.customers) != (m.backend, m.customers):
            table.add_section()
        previous = m
        target = "reference"
        if id(m) in verdicts:
            target = f"p99 < {P99_TARGET_MS:g} ms, flat"
            if m.operation.startswith("card page"):
                target = f"p99 < {CARD_PAGE_P99_TARGET_MS:g} ms"
            if m.operation.startswith("timeline"):
                target = f"p99 < {TIMELINE_P99_TARGET_MS:g} ms"
                if m.operation.startswith("timeline p1,"):
                    target += ", flat"
        verdict = verdicts.get(id(m), "")
        table.add_row(
            m.backend,
            f"{m.customers:,}",
            f"{m.operation} [in-process]",
            f"{m.p50_ms:.3f}",
            f"{m.p99_ms:.3f}",
            "",
            target,
            f"[{_style(verdict)}]{verdict}[/]" if verdict else "",
        )
    for load in loads:
        if load.operation == "GET /healthz":
            table.add_section()
        target, verdict = "ceiling", ""
        if load.operation != "GET /healthz":
            ceiling = next(
                x
                for x in loads
                if (x.backend, x.customers, x.operation)
                == (load.backend, load.customers, "GET /healthz")
            )
            share = load.throughput / ceiling.throughput if ceiling.throughput else 0.0
            target = f">= {HTTP_SHARE_TARGET:.0%} of /healthz"
            verdict = f"{share:.0%} of /healthz" + (
                " ok" if share >= HTTP_SHARE_TARGET else " MISS"
            )
        if load.errors:
            verdict += f"; {load.errors} errors!"
        table.add_row(
            load.backend,
            f"{load.customers:,}",
            f"{load.operation} [HTTP, {load.tool}]",
            f"{load.p50_ms:.2f}",
            f"{load.p99_ms:.2f}",
            f"{load.throughput:,.0f}",
            target,
            f"[{_style(verdict)}]{verdict}[/]" if verdict else "",
        )
    for t in ingestion or []:
        if t is (ingestion or [])[0]:
            table.add_section()
        target, verdict = _ingestion_verdict(t)
        table.add_row(
            t.backend,
            f"{t.customers:,} + {t.interactions:,} int.",
            f"{t.operation} [{t.mode}]",
            f"{t.p50_ms:.1f}",
            f"{t.p99_ms:.1f}",
            f"{t.per_second:,.0f} items",
            target,
            f"[{_style(verdict)}]{verdict}[/]" if verdict else "",
        )
    console.print(table)
    if ingestion:
        console.print(
            "[dim]Ingestion: p50/p99 are per call (1,000 items or one); per s is items/s over "
            "the whole run. Item mix: 90% known customers' numbers and e-mails, 7% unknown "
            "addresses (new leads), 3% repeats (duplicates).[/dim]"
        )
    if any(m.operation.startswith("card page") for m in measurements):
        console.print(
            "[dim]Card page: GET /customers/{id} (header and information tab) through a "
            "TestClient with an agent's session, in-process; the SQL count is per page.[/dim]"
        )
    lookups = [m for m in measurements if not m.operation.startswith(("timeline", "card page"))]
    if any(m.operation.startswith("timeline") for m in measurements):
        console.print(
            "[dim]Timeline: limit 50, no filters; each call a Database.read() session plus the "
            "page's JSON; the heavy customer's rows repeat one call, the ordinary customers' "
            "row calls once per customer; raw SQL: the interactions SELECT alone. Flat: p99 at "
            f"the largest size <= {FLAT_FACTOR:g}x the smallest's.[/dim]"
        )
    if not lookups:
        return
    console.print(
        f"[dim]In-process: {len(lookups[0].samples_ms)} known keys "
        "per row after a warm-up pass over them; service rows run what the route runs (the "
        "screen pop: service.lookup_cards awaited in an event loop, then the JSON; GET customer: "
        "read_card in a Database.read() session, then the JSON); raw SQL rows send the same "
        "single SELECT through a bare DB-API cursor. Flat: p99 at the largest size <= "
        f"{FLAT_FACTOR:g}x the smallest's. Server CPU per request is in the JSON.[/dim]"
    )


def _cpu_reference() -> float:
    """Seconds for a fixed pure-Python workload, best of three: the figures above scale
    with it from one machine to another."""
    return min(timeit.repeat("sum(range(1000))", number=20_000, repeat=3))


def _environment(datasets: list[generate.Dataset]) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    env: dict[str, Any] = {
        "commit": commit,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
    }
    postgres = next((d for d in datasets if d.backend == "postgresql"), None)
    if postgres is not None:
        import psycopg

        with psycopg.connect(generate.libpq_url(postgres.url)) as connection:
            env["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]
    return env


def write_json(
    args: argparse.Namespace,
    datasets: list[generate.Dataset],
    measurements: list[inprocess.Measurement],
    loads: list[http.LoadResult],
    seconds: float,
    *,
    plans: dict[str, dict[str, str]],
    load: dict[str, tuple[float, ...]],
    ingestion: list[interactions_bench.Throughput] | None = None,
    loaded: dict[tuple[str, int], generate.InteractionSet] | None = None,
) -> Path:
    verdicts = _in_process_verdicts(measurements)
    document = {
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "arguments": dict(vars(args)),
        "environment": _environment(datasets) | {"load_average": load},
        "targets": {
            "inprocess_lookup_p99_ms": P99_TARGET_MS,
            "flat_factor": FLAT_FACTOR,
            "http_lookup_share_of_healthz": HTTP_SHARE_TARGET,
            "ingest_batch_sqlite_per_s": INGEST_TARGET_PER_S,
            "timeline_p99_ms": TIMELINE_P99_TARGET_MS,
            "card_page_p99_ms": CARD_PAGE_P99_TARGET_MS,
        },
        "datasets": [
            {
                "backend": d.backend,
                "customers": d.customers,
                "contact_points": d.contact_points,
                "generated_seconds": round(d.generated_seconds, 1),
                "cached": d.cached,
            }
            | _interactions_json((loaded or {}).get((d.backend, d.size)))
            for d in datasets
        ],
        "query_plans": plans,
        "results": [m.as_dict() | {"verdict": verdicts.get(id(m))} for m in measurements]
        + [load.as_dict() for load in loads]
        + [t.as_dict() | {"target_result": _ingestion_verdict(t)} for t in ingestion or []],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    return RESULTS


def _interactions_json(loaded: generate.InteractionSet | None) -> dict[str, Any]:
    if loaded is None:
        return {}
    return {
        "interactions": loaded.interactions,
        "heavy_customer": loaded.heavy_customer,
        "heavy_interactions": loaded.heavy_interactions,
        "interactions_generated_seconds": round(loaded.generated_seconds, 1),
        "interactions_cached": loaded.cached,
        "bytes": loaded.bytes,
    }


if __name__ == "__main__":
    sys.exit(main())
