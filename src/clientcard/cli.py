"""The operator's command line: `clientcard serve | db upgrade | demo | user create`."""

from __future__ import annotations

import typer
from rich.console import Console

from clientcard.config import get_settings
from clientcard.context import open_database
from clientcard.db import Database

app = typer.Typer(
    help="clientcard: the customer card of an omnichannel contact center.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
console = Console()
errors = Console(stderr=True)


def _database() -> Database:
    return open_database(get_settings())


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply the schema migrations (also done by `serve` on start)."""
    from clientcard.migrate import upgrade

    database = _database()
    upgrade(database.engine, revision)
    console.print(f"database at [bold]{revision}[/bold]")


@app.command()
def demo(count: int = typer.Option(200, min=1, max=100_000)) -> None:
    """Load demo customers (Spanish, Polish and English names, phones from several countries)."""
    from clientcard.demo import load_activity, load_demo
    from clientcard.migrate import upgrade

    database = _database()
    upgrade(database.engine)
    with database.write() as session:
        created = load_demo(session, count=count)
        stored = load_activity(session)
    console.print(f"{created} demo customers loaded")
    if stored:
        console.print(f"with {stored} interactions, cases, accounts and campaign records")


@user_app.command("create")
def user_create(
    username: str = typer.Option(..., "--username"),
    role: str = typer.Option(..., "--role", help="admin, supervisor or agent"),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, confirmation_prompt=True
    ),
    display_name: str = typer.Option("", "--display-name"),
) -> None:
    """Create a user (the password is prompted for when not given)."""
    from pydantic import ValidationError

    from clientcard.auth import service as auth
    from clientcard.auth.actor import system_actor
    from clientcard.auth.schemas import UserCreate
    from clientcard.errors import DomainError
    from clientcard.migrate import upgrade

    try:
        data = UserCreate(
            username=username, password=password, role=role, display_name=display_name
        )
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]{'.'.join(map(str, error['loc']))}: {error['msg']}[/red]")
        raise typer.Exit(2) from None
    database = _database()
    upgrade(database.engine)
    try:
        with database.write() as session:
            user = auth.create_user(session, actor=system_actor("cli"), data=data)
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    console.print(f"user [bold]{user.username}[/bold] ({user.role}) created")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers", min=1),
    scheduler: bool = typer.Option(
        True, "--scheduler/--no-scheduler", help="Also apply scheduled changes on time."
    ),
) -> None:
    """Migrate, create the first administrator and demo data on first start, and serve."""
    import threading

    import uvicorn

    from clientcard.auth import service as auth
    from clientcard.demo import customer_count, load_activity, load_demo
    from clientcard.migrate import upgrade
    from clientcard.scheduler import worker as jobs

    settings = get_settings()
    if workers > 1 and settings.secret_key is None:
        # Each worker would sign web sessions with a random key of its own, so a login
        # made on one worker would be refused by the others.
        errors.print(
            f"[red]clientcard serve --workers {workers} needs CLIENTCARD_SECRET_KEY: without "
            "it each worker signs web sessions with a random key of its own, and a login on "
            "one worker is refused by the others. Set it to the same long random string for "
            "every process, e.g. the output of: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    database = _database()
    upgrade(database.engine)
    with database.write() as session:
        password = auth.ensure_admin(session, username="admin")
    if password:
        console.print(
            f"[bold green]First start: administrator created. Log in as "
            f"[white]admin[/white] with password [white]{password}[/white][/bold green]"
        )
    if settings.demo_on_first_start:
        with database.write() as session:
            if customer_count(session) == 0:
                console.print(f"loaded {load_demo(session)} demo customers")
                stored = load_activity(session)
                console.print(f"with {stored} interactions, cases, accounts and campaign records")
    database.dispose()
    stop = threading.Event()
    if scheduler:
        # One poller beside the server processes applies scheduled changes, so a single
        # `serve` is a complete installation; more can run as `clientcard worker`.
        threading.Thread(
            target=jobs.run_forever,
            kwargs={
                "database": _database(),
                "interval": 1.0,
                "stop": stop,
            },
            name="clientcard-scheduler",
            daemon=True,
        ).start()
    console.print(f"clientcard serving on http://{host}:{port}  (API docs: /docs)")
    uvicorn.run(
        "clientcard.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        # Live streams (SSE) never end by themselves: on shutdown, requests still running
        # after this many seconds are cancelled, so that a restart does not hang.
        timeout_graceful_shutdown=5,
    )
    stop.set()


@app.command()
def worker(
    interval: float = typer.Option(1.0, "--interval", min=0.05, help="Seconds between polls."),
    once: bool = typer.Option(False, "--once", help="Apply what is due now, then exit."),
) -> None:
    """Apply scheduled changes on time. On a database server several workers may run at once."""
    import logging
    import signal
    import threading

    from clientcard.migrate import upgrade
    from clientcard.scheduler import worker as jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    database = _database()
    upgrade(database.engine)
    if once:
        applied = jobs.run_once(database)
        console.print(f"applied {applied} scheduled change(s)")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"worker polling every {interval} s")
    jobs.run_forever(database, interval=interval, stop=stop)


def main() -> None:
    app()
