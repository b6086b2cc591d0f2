"""The ``opsdesk`` command."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

from opsdesk import clock
from opsdesk.access.roles import Role
from opsdesk.settings import BUILD_ID_PATTERN, Settings
from opsdesk.stackfile import stack_url
from opsdesk.values import format_money

if TYPE_CHECKING:
    from rich.table import Table
    from temporalio.client import Client

    from opsdesk.db import Database
    from opsdesk.orders.load import LoadReport

app = typer.Typer(
    help="Ops Desk: business operations as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
err = Console(stderr=True)
T = TypeVar("T")

PortOption = Annotated[
    int | None,
    typer.Option(
        "--port",
        min=1,
        max=65535,
        envvar="OPSDESK_PORT",
        help="API and dashboard port (default 8000).",
    ),
]
HostOption = Annotated[
    str | None,
    typer.Option("--host", envvar="OPSDESK_HOST", help="Interface to bind (default 127.0.0.1)."),
]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(code)


def fail_now(message: str, code: int = 1) -> NoReturn:
    """``fail`` for a command that made a Temporal client (see ``_exit_now``)."""
    err.print(f"[red]error:[/] {message}")
    _exit_now(code)


def _exit_now(code: int = 0) -> NoReturn:
    """End a command that made a Temporal client without tearing the interpreter down: the
    SDK's native threads can outlive the event loop and abort the exit while Python
    finalizes (temporalio/sdk-python#300), turning a done command into a crash. Every
    command that connects to Temporal ends here once it has said what it did."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's explicit flags on top."""
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            # A rule across several settings has no single variable to name.
            f"OPSDESK_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        fail(f"invalid settings: {problems}", code=2)
    except SettingsError as exc:
        # A value that should be JSON (OPSDESK_AI_PRICES, OPSDESK_OIDC_ROLES) and is not.
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"OPSDESK_{field.group(1).upper()}" if field else "a setting"
        fail(f"invalid settings: {name} is not valid JSON", code=2)
    from opsdesk.ai.emergency import PolicyFileError, load_policy

    try:
        load_policy(settings.emergency_criteria)
    except PolicyFileError as exc:
        fail(f"invalid settings: OPSDESK_EMERGENCY_CRITERIA: {exc}", code=2)
    return settings


def _configure_logging(settings: Settings) -> None:
    from opsdesk.logs import configure

    configure(settings.log_level, settings.log_format)
    # Alembic narrates every no-op upgrade at INFO.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _configure_tracing(service: str) -> None:
    from opsdesk.tracing import configure

    endpoint = configure(service)
    if endpoint is not None:
        logging.getLogger(__name__).info("traces go over OTLP to %s as %s", endpoint, service)


@app.command()
def dev(
    port: PortOption = None,
    temporal_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            envvar="OPSDESK_TEMPORAL_PORT",
            help="Embedded Temporal gRPC port (default 7233).",
        ),
    ] = None,
    ui_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            envvar="OPSDESK_UI_PORT",
            help="Embedded Temporal web UI port (default 8233).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(envvar="OPSDESK_DATA_DIR", help="Where state is kept (default ./.opsdesk)."),
    ] = None,
    host: HostOption = None,
) -> None:
    """Run the whole stack on this machine: Temporal dev server, worker, API and dashboard.

    State persists under the data directory, so a restart finds every workflow where it
    was. If TEMPORAL_ADDRESS (or a Temporal env-config profile) is set, the stack uses that
    server instead of starting one. Ctrl-C stops everything.
    """
    from opsdesk.devstack import DevStack

    settings = load_settings(
        port=port, temporal_port=temporal_port, ui_port=ui_port, data_dir=data_dir, host=host
    )
    raise typer.Exit(DevStack(settings).run())


@app.command()
def worker() -> None:
    """Run a worker for every task queue (scale out by running more)."""
    from opsdesk import worker as worker_process

    settings = load_settings()
    _configure_logging(settings)
    _configure_tracing("opsdesk-worker")
    try:
        asyncio.run(worker_process.run(settings))
    except (ConnectionError, RuntimeError) as exc:
        fail(f"worker could not start: {exc}")


@app.command()
def api(port: PortOption = None, host: HostOption = None) -> None:
    """Serve the JSON API and the dashboard (run several behind a load balancer)."""
    import uvicorn

    from opsdesk.app import UVICORN_OPTIONS, create_app
    from opsdesk.devstack import port_in_use

    settings = load_settings(port=port, host=host)
    _configure_logging(settings)
    _configure_tracing("opsdesk-api")
    if port_in_use(settings.host, settings.port):
        fail(
            f"port {settings.port} on {settings.host} is already in use; "
            "choose another with --port or OPSDESK_PORT",
            2,
        )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # JSON lines: uvicorn's loggers go through the root logger's formatter, not its own.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        **UVICORN_OPTIONS,
        timeout_graceful_shutdown=10,
    )


@app.command()
def migrate() -> None:
    """Apply database migrations (every process also does this when it starts)."""
    from opsdesk.db.migrate import upgrade

    settings = load_settings()
    upgrade(settings.resolved_database_url)
    err.print("database is up to date")


@app.command("setup-temporal")
def setup_temporal() -> None:
    """Register Ops Desk's search attributes on a self-hosted Temporal cluster.

    The embedded dev server needs no setup. On Temporal Cloud, add them with tcld or the
    Cloud UI instead (docs/operations.md lists them).
    """
    from opsdesk.temporal.client import connect, register_search_attributes

    settings = load_settings()

    async def run() -> list[str]:
        client = await connect(settings)
        return await register_search_attributes(client)

    try:
        added = asyncio.run(run())
    except Exception as exc:
        fail(f"could not register search attributes: {exc}")
    err.print(
        f"added: {', '.join(added)}" if added else "all search attributes were already registered"
    )
    _exit_now(0)


class Via(enum.StrEnum):
    api = "api"
    temporal = "temporal"


@app.command()
def load(
    orders: Annotated[
        int, typer.Option("--orders", "-n", min=1, max=1_000_000, help="How many orders.")
    ] = 100,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=2_000, help="Orders in flight at once.")
    ] = 10,
    seed: Annotated[int, typer.Option(help="Same seed, same catalog: the same orders.")] = 1,
    via: Annotated[
        Via, typer.Option(help="Through the HTTP API, or straight through Temporal.")
    ] = Via.api,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="The API to load (default: the `opsdesk dev` running on this data "
            "directory, else this machine's on OPSDESK_PORT)."
        ),
    ] = None,
    poll: Annotated[
        float, typer.Option(min=0.01, max=10, help="Seconds between looks at a busy order.")
    ] = 0.25,
    token: Annotated[
        str | None,
        typer.Option(
            help="An operator's API token, for --via api (default: OPSDESK_API_TOKEN; make "
            "one with `opsdesk tokens create load --role operator`).",
        ),
    ] = None,
) -> None:
    """Create orders against a running stack and drive each to a final status.

    The mix: 55% delivered, 10% approved after review, 5% rejected in review, 10% card
    declined, 10% out of stock then restocked, 10% cancelled once confirmed. The out-of-stock
    orders order past a product's stock when none is sold out; a plan the catalog cannot
    make is named before the run. Ends with orders/s, end-to-end latency percentiles and
    the outcomes.
    """
    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from opsdesk.db import Database
    from opsdesk.orders import load as generator
    from opsdesk.temporal.client import connect

    settings = load_settings()
    console = Console()

    async def run() -> generator.LoadReport:
        async with contextlib.AsyncExitStack() as stack:
            target: generator.Target
            if via is Via.api:
                secret = token or (
                    settings.api_token.get_secret_value() if settings.api_token else None
                )
                if not secret:
                    raise generator.LoadError(
                        "the API needs a token: create one with `opsdesk tokens create load "
                        "--role operator` and pass it as --token or OPSDESK_API_TOKEN"
                    )
                url = api_url or stack_url(settings)
                http = await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=url, timeout=60, headers={"Authorization": f"Bearer {secret}"}
                    )
                )
                try:
                    await http.get("/healthz")
                except httpx.HTTPError as exc:
                    raise generator.LoadError(
                        f"cannot reach the API at {url} ({exc}); is `opsdesk dev` running?"
                    ) from None
                target = generator.ApiTarget(http)
            else:
                try:
                    client = await connect(settings)
                except RuntimeError as exc:
                    raise generator.LoadError(f"cannot reach Temporal: {exc}") from None
                db = Database(settings.resolved_database_url)
                stack.push_async_callback(db.dispose)
                target = generator.TemporalTarget(client, settings, db)
            planned = await generator.prepare(target, orders, seed)
            for note in generator.substitutions(planned):
                err.print(f"[yellow]note:[/] {note}")
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("orders", total=len(planned))
                return await generator.run_load(
                    target,
                    planned,
                    concurrency,
                    poll,
                    on_result=lambda _: progress.advance(task),
                )

    try:
        report = asyncio.run(run())
    except generator.LoadError as exc:
        fail(str(exc))
    console.print(load_summary(report))
    if unheld := report.unheld():
        restocked = sum(1 for r in report.results if r.plan == "restocked")
        err.print(
            f"[yellow]note:[/] {len(unheld)} of {restocked} 'restocked' orders found their "
            "stock without waiting: was the product restocked by someone else during the run?"
        )
    if report.errors():
        for error in report.errors()[:5]:
            err.print(f"[red]failed:[/] {error}")
        err.print(
            f"[red]error:[/] {len(report.errors())} of {len(report.results)} orders did not finish"
        )
        _exit_now(1)
    _exit_now(0)


def load_summary(report: LoadReport) -> Table:
    """The table ``opsdesk load`` ends with."""
    from rich.table import Table

    from opsdesk.stats import percentile

    latencies = report.latencies_s
    table = Table(title="load", show_header=False)
    table.add_row("orders finished", f"{len(report.finished)} of {len(report.results)}")
    table.add_row("elapsed", f"{report.elapsed_s:,.1f} s")
    table.add_row("orders/s", f"{report.orders_per_second:,.2f}")
    if latencies:
        for pct in (50, 95, 99):
            table.add_row(f"p{pct} end to end", f"{percentile(latencies, pct) * 1000:,.0f} ms")
    for (plan, status), count in sorted(report.outcomes().items()):
        table.add_row(f"{plan} → {status}", str(count))
    return table


@app.command()
def drill(
    orders: Annotated[int, typer.Option("--orders", "-n", min=1, max=100_000)] = 200,
    requests: Annotated[
        int, typer.Option(min=0, max=10_000, help="Repair requests beside the orders.")
    ] = 20,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=500)] = 16,
    workers: Annotated[int, typer.Option(min=2, max=8)] = 2,
    apis: Annotated[int, typer.Option(min=2, max=8, help="API replicas.")] = 2,
    down: Annotated[
        float, typer.Option(min=0, max=60, help="Seconds each killed process stays down.")
    ] = 3.0,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="An empty PostgreSQL database to use (default: a scratch server from the "
            "system's PostgreSQL binaries, removed afterwards)."
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            min=30, max=86_400, help="Seconds the load may run; what has not ended counts as lost."
        ),
    ] = 900.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures to this file.")
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(help="Keep the fleet's logs, mailbox and Temporal state (not the database)."),
    ] = False,
    rollout: Annotated[
        bool,
        typer.Option(
            "--rollout",
            help="Instead: the rollout drill. Build B deployed beside build A with orders "
            "and a repair request in flight (docs/deployment.md); the other options do not "
            "apply.",
        ),
    ] = False,
) -> None:
    """Crash drill: a Temporal server, several workers and API replicas on one PostgreSQL
    database, orders and repair requests through every replica, and SIGKILL in turn of a
    worker, an API replica and the Temporal server while the load runs. Prints what was
    started, ended and lost; charges, reservations, payouts and emails per order; and the
    requests that failed and whether a retry with the same key recovered them. Exits 1 if
    anything was lost, doubled or not recovered (docs/reliability.md)."""
    import shutil
    import subprocess
    import tempfile

    if rollout:
        _rollout_drill()

    import httpx
    from sqlalchemy.exc import SQLAlchemyError

    from opsdesk.db.scratch import NoPostgres, scratch_server
    from opsdesk.drill import summary
    from opsdesk.drill.fleet import FleetFailed
    from opsdesk.drill.report import DrillReport, Options
    from opsdesk.drill.run import run_drill
    from opsdesk.orders.load import LoadError
    from opsdesk.temporal import devserver
    from opsdesk.temporal.client import uses_external_temporal

    if uses_external_temporal():
        fail(
            "the drill starts and kills a Temporal server of its own: unset TEMPORAL_ADDRESS "
            "(and any Temporal profile) to run it"
        )
    if database_url is not None and not database_url.startswith("postgresql"):
        fail(
            "--database-url must name a PostgreSQL database "
            "(postgresql+asyncpg://user:password@host/db): the drill proves the production "
            "setup",
            code=2,
        )
    if json_out is not None and (json_out.is_dir() or not json_out.parent.is_dir()):
        fail(f"cannot write the figures to {json_out}: name a file in an existing folder", code=2)
    console = Console()
    options = Options(orders, requests, concurrency, workers, apis, down, timeout=timeout)
    workdir = Path(tempfile.mkdtemp(prefix="opsdesk-drill-"))
    report: DrillReport | None = None
    problem = ""
    with contextlib.ExitStack() as stack:
        try:
            url = database_url or stack.enter_context(
                scratch_server(devserver.spare_port(), durable=True)
            )
            temporal_port = devserver.spare_port()
            settings = load_settings(
                data_dir=workdir,
                database_url=url,
                host="127.0.0.1",
                temporal_port=temporal_port,
                ui_port=devserver.spare_port(temporal_port),
            )
            report = run_drill(settings, options, say=console.print)
        except NoPostgres as exc:
            problem = f"the drill runs on PostgreSQL: {exc}, or pass --database-url"
        except subprocess.CalledProcessError as exc:
            problem = f"could not start PostgreSQL: {(exc.stderr or b'').decode().strip()}"
        except FleetFailed as exc:
            problem = str(exc)
        except (SQLAlchemyError, OSError, httpx.HTTPError, LoadError, ValueError) as exc:
            problem = f"the drill stopped: {type(exc).__name__}: {exc}"
    if report is None:
        if (workdir / "logs").is_dir():
            problem += f"; logs kept in {workdir}"
        else:  # stopped before anything ran: nothing to look at
            shutil.rmtree(workdir, ignore_errors=True)
        err.print(f"[red]error:[/] {problem}")
        _exit_now(1)
    console.print(summary.figures(report))
    console.print(summary.kills(report))
    if json_out is not None:
        json_out.write_text(summary.as_json(report))
    if report.failures:
        for failure in report.failures[:20]:
            err.print(f"[red]failed:[/] {failure}")
        err.print(
            f"[red]error:[/] the drill found {len(report.failures)} problem(s); logs kept in "
            f"{workdir}"
        )
        _exit_now(1)
    if keep:
        console.print(f"logs, mailbox and Temporal state kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    console.print("[green]nothing lost, nothing doubled, every failed request recovered[/]")
    _exit_now(0)


catalog_app = typer.Typer(help="Products, prices and stock.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import")
def catalog_import(
    file: Annotated[
        Path, typer.Argument(help="JSON list of products (see `catalog list --json`).")
    ],
    set_stock: Annotated[
        bool,
        typer.Option(help="Overwrite stock levels too (otherwise only new products get stock)."),
    ] = False,
) -> None:
    """Create or update products from a JSON file."""
    from opsdesk.db import Database
    from opsdesk.db.migrate import upgrade
    from opsdesk.orders.catalog import read_catalog
    from opsdesk.orders.inventory import Inventory

    settings = load_settings()
    try:
        specs = read_catalog(file)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"{file} is not a valid catalog: {where}: {first['msg']}", 2)
    upgrade(settings.resolved_database_url)

    async def run() -> int:
        db = Database(settings.resolved_database_url)
        try:
            return await Inventory(db).import_catalog(specs, set_stock=set_stock)
        finally:
            await db.dispose()

    err.print(f"imported {asyncio.run(run())} products")


@catalog_app.command("list")
def catalog_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON that `import` accepts.")
    ] = False,
) -> None:
    """Show every product with its price and stock."""
    from rich.table import Table

    from opsdesk.db import Database
    from opsdesk.db.migrate import upgrade
    from opsdesk.orders.catalog import dump_catalog
    from opsdesk.orders.inventory import Inventory

    settings = load_settings()
    upgrade(settings.resolved_database_url)

    async def run() -> list[Any]:
        db = Database(settings.resolved_database_url)
        try:
            return await Inventory(db).products()
        finally:
            await db.dispose()

    products = asyncio.run(run())
    if as_json:
        typer.echo(dump_catalog(products))
        return
    table = Table("sku", "name", "price", "stock", "active")
    for p in products:
        table.add_row(
            p.sku,
            p.name,
            format_money(p.price_cents, p.currency),
            str(p.stock),
            "yes" if p.active else "no",
        )
    Console().print(table)


def _in_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the settings' database (migrated first), as a command does."""
    from opsdesk.db import Database
    from opsdesk.db.migrate import upgrade

    upgrade(settings.resolved_database_url)

    async def run() -> T:
        db = Database(settings.resolved_database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _when(moment: datetime | None, settings: Settings) -> str:
    """A time in the business's zone, named, as every page and email words it."""
    return clock.moment(moment, settings.business_time_zone) if moment else "never"


users_app = typer.Typer(
    help="The ops staff who sign in to the dashboard, and their roles.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
tokens_app = typer.Typer(
    help="API tokens for programs (Authorization: Bearer …).", no_args_is_help=True
)
app.add_typer(tokens_app, name="tokens")

RoleOption = Annotated[
    Role,
    typer.Option(
        "--role",
        help="viewer reads; operator also acts on orders and requests; admin also manages "
        "users and tokens.",
    ),
]


def _account_change(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """``_in_database`` for a change to users or tokens: a refusal is a sentence, exit 1."""
    from opsdesk.access.users import AccountError

    _configure_logging(settings)  # the change is a security event (opsdesk.security_events)
    try:
        return _in_database(settings, work)
    except AccountError as exc:
        fail(str(exc))
    except ValueError as exc:  # a name or password that breaks the rules
        fail(str(exc), 2)


def _print_sign_in_link(settings: Settings, name: str, secret: str) -> None:
    from opsdesk.web.signin import link_url

    err.print(f"One-time sign-in link for {name} (valid for an hour, works once):")
    typer.echo(link_url(stack_url(settings), secret))


@users_app.command("add")
def users_add(
    name: Annotated[
        str, typer.Argument(help="What they sign in with, e.g. dana or dana@example.com.")
    ],
    role: RoleOption = Role.VIEWER,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read their password from standard input (no password on the command line). "
            "Without it, print a one-time sign-in link from which they set one.",
        ),
    ] = False,
) -> None:
    """Add a person."""
    from opsdesk.access.sessions import Sessions
    from opsdesk.access.users import Users

    settings = load_settings()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    async def add(db: Database) -> str | None:
        user = await Users(db).add(name, role, password)
        if password is not None:
            return None
        sessions = Sessions(db, settings.session_idle, settings.session_lifetime)
        return await sessions.issue_link(user.name)

    secret = _account_change(settings, add)
    err.print(f"added {name.strip().lower()} ({role.value})")
    if secret is not None:
        _print_sign_in_link(settings, name.strip().lower(), secret)


@users_app.command("list")
def users_list() -> None:
    """Show everyone who may sign in."""
    from rich.table import Table

    from opsdesk.access.users import Users

    settings = load_settings()
    users = _in_database(settings, lambda db: Users(db).list())
    table = Table("name", "role", "password", "added", "last sign-in")
    for user in users:
        table.add_row(
            user.name,
            user.role.value,
            "set" if user.has_password else "not yet",
            _when(user.created_at, settings),
            _when(user.last_sign_in_at, settings),
        )
    Console().print(table)


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="Who.")]) -> None:
    """Remove a person; they are signed out everywhere."""
    from opsdesk.access.users import Users
    from opsdesk.security_events import command_line_actor, record

    _account_change(load_settings(), lambda db: Users(db).remove(name))
    record("user_removed", "success", actor=command_line_actor(), target=name.strip().lower())
    err.print(f"removed {name}")


@users_app.command("set-role")
def users_set_role(
    name: Annotated[str, typer.Argument(help="Who.")],
    role: Annotated[Role, typer.Argument(help="viewer, operator or admin.")],
) -> None:
    """Change a person's role (it applies to their next request)."""
    from opsdesk.access.users import Users
    from opsdesk.security_events import command_line_actor, record

    user = _account_change(load_settings(), lambda db: Users(db).set_role(name, role))
    record("role_changed", "success", actor=command_line_actor(), target=user.name, role=role)
    err.print(f"{name} is now {role.value}")


@users_app.command("reset-second-factor")
def users_reset_second_factor(name: Annotated[str, typer.Argument(help="Who.")]) -> None:
    """Turn off a person's second factor (a lost phone, no recovery code left): they sign
    in with their password alone until they set up an authenticator app again."""
    from opsdesk.access.second_factor import SecondFactors
    from opsdesk.security_events import command_line_actor, record
    from opsdesk.temporal.codec import EncryptionCodec, payload_keys

    settings = load_settings()
    codec = EncryptionCodec(payload_keys(settings))
    was_on = _account_change(settings, lambda db: SecondFactors(db, codec).turn_off(name))
    who = name.strip().lower()
    if was_on:
        record("second_factor_off", "success", actor=command_line_actor(), target=who)
        err.print(f"{who}'s second factor is off; they sign in with their password alone")
    else:
        err.print(f"{who} had no second factor on; nothing changed")


@users_app.command("link")
def users_link(name: Annotated[str, typer.Argument(help="Who.")]) -> None:
    """Print a one-time sign-in link for a person (a first sign-in, a forgotten password)."""
    from opsdesk.access.sessions import Sessions

    settings = load_settings()

    def issue(db: Database) -> Awaitable[str]:
        sessions = Sessions(db, settings.session_idle, settings.session_lifetime)
        return sessions.issue_link(name.strip().lower())

    secret = _account_change(settings, issue)
    _print_sign_in_link(settings, name.strip().lower(), secret)


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. shop-sync.")],
    role: RoleOption = Role.VIEWER,
) -> None:
    """Create a token and print it, once: it is stored only as a digest."""
    from opsdesk.access.tokens import ApiTokens
    from opsdesk.security_events import command_line_actor, record

    info, secret = _account_change(load_settings(), lambda db: ApiTokens(db).create(name, role))
    record("token_created", "success", actor=command_line_actor(), target=info.name, role=role)
    err.print(f"created token {info.name} ({info.role.value}); it is shown this once:")
    typer.echo(secret)


@tokens_app.command("list")
def tokens_list() -> None:
    """Show every token (never its secret): role, last use, revoked or not."""
    from rich.table import Table

    from opsdesk.access.tokens import ApiTokens

    settings = load_settings()
    tokens = _in_database(settings, lambda db: ApiTokens(db).list())
    table = Table("name", "role", "starts with", "created", "last used", "revoked")
    for token in tokens:
        table.add_row(
            token.name,
            token.role.value,
            token.hint + "…",
            _when(token.created_at, settings),
            _when(token.last_used_at, settings),
            _when(token.revoked_at, settings) if token.revoked_at else "",
        )
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="Which token.")]) -> None:
    """Revoke a token: refused from now on (within OPSDESK_CREDENTIALS_CACHE seconds by API
    processes that saw it recently)."""
    from opsdesk.access.tokens import ApiTokens
    from opsdesk.security_events import command_line_actor, record

    info = _account_change(load_settings(), lambda db: ApiTokens(db).revoke(name))
    record("token_revoked", "success", actor=command_line_actor(), target=info.name)
    err.print(f"revoked {name}")


maintenance_app = typer.Typer(
    help="The maintenance desk's directory: properties, units, owners, tenants, vendors.",
    no_args_is_help=True,
)
app.add_typer(maintenance_app, name="maintenance")


@maintenance_app.command("import")
def maintenance_import(
    file: Annotated[
        Path,
        typer.Argument(help="JSON directory: owners, properties (with units), vendors."),
    ],
) -> None:
    """Create or update directory entries from a JSON file (see `maintenance list --json`)."""
    from opsdesk.db import Database
    from opsdesk.db.migrate import upgrade
    from opsdesk.errors import UnknownProperty
    from opsdesk.maintenance.directory import Directory, read_directory

    settings = load_settings()
    try:
        spec = read_directory(file)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        fail(f"{file} is not a valid directory: {where}: {first['msg']}", 2)
    upgrade(settings.resolved_database_url)

    async def run() -> int:
        db = Database(settings.resolved_database_url)
        try:
            return await Directory(db).import_directory(spec)
        finally:
            await db.dispose()

    try:
        written = asyncio.run(run())
    except UnknownProperty as exc:
        fail(f"{file} was not imported: {exc}", 2)
    err.print(f"imported {written} directory entries")


@maintenance_app.command("list")
def maintenance_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON that `import` accepts.")
    ] = False,
) -> None:
    """Show the properties with their owners and units, and the vendors by trade."""
    from rich.table import Table

    from opsdesk.db import Database
    from opsdesk.db.migrate import upgrade
    from opsdesk.maintenance.directory import Directory, DirectorySpec, dump_directory

    settings = load_settings()
    upgrade(settings.resolved_database_url)

    async def run() -> DirectorySpec:
        db = Database(settings.resolved_database_url)
        try:
            return await Directory(db).export()
        finally:
            await db.dispose()

    spec = asyncio.run(run())
    if as_json:
        typer.echo(dump_directory(spec))
        return
    owners = {o.id: o.name for o in spec.owners}
    places = Table("property", "address", "owner", "auto-approve", "time zone", "units")
    for p in spec.properties:
        places.add_row(
            p.id,
            p.address,
            owners.get(p.owner, p.owner),
            format_money(p.auto_approve_cents, p.currency),
            p.time_zone,
            ", ".join(u.label for u in p.units),
        )
    vendors = Table("vendor", "name", "trades", "rank", "active")
    for v in spec.vendors:
        vendors.add_row(v.id, v.name, ", ".join(v.trades), str(v.rank), "yes" if v.active else "no")
    console = Console()
    console.print(places)
    console.print(vendors)


_DEMO_PROBLEMS = (
    "The kitchen tap drips all night and the cabinet underneath is damp",
    "The bathroom extractor fan stopped working and the mirror stays fogged",
    "Two sockets in the living room have no power since this morning",
)


@maintenance_app.command("demo-request")
def maintenance_demo_request(
    invalid: Annotated[
        bool,
        typer.Option(
            "--invalid",
            help="Drop one the poller sets aside: its property is not in the directory.",
        ),
    ] = False,
    property_id: Annotated[str, typer.Option("--property", help="Property id.")] = "harbor-12",
    unit: Annotated[str, typer.Option(help="Unit label.")] = "1A",
    description: Annotated[str | None, typer.Option(help="What is wrong.")] = None,
) -> None:
    """Drop a repair request into the demo property-management feed that `opsdesk dev`
    polls (see the request, or why it was set aside, on /maintenance/intake)."""
    import secrets
    from datetime import UTC, datetime

    from opsdesk.db import Database
    from opsdesk.db.migrate import upgrade
    from opsdesk.maintenance.feed import DemoFeed
    from opsdesk.maintenance.ids import external_request_id

    settings = load_settings()
    # A work order number as a property system gives one: read aloud, it is a number.
    external_id = f"WO-{100_000 + secrets.randbelow(900_000)}"
    record = {
        "id": external_id,
        "property_id": "no-such-property" if invalid else property_id,
        "unit": unit,
        "tenant_name": "Sam Rivera",
        "tenant_email": "sam.rivera@example.com",
        "tenant_phone": "+1 415 555 0111",
        "description": description or secrets.choice(_DEMO_PROBLEMS),
        "reported_at": datetime.now(UTC).isoformat(),
    }
    upgrade(settings.resolved_database_url)

    async def run() -> int:
        db = Database(settings.resolved_database_url)
        try:
            return await DemoFeed(db).add(record)
        finally:
            await db.dispose()

    seq = asyncio.run(run())
    request_id = external_request_id(settings.pms_source, external_id)
    err.print(f"dropped {external_id} into the demo feed (record {seq})")
    err.print(
        f"the poller starts request {request_id} at its next poll, or sets it aside: "
        f"{stack_url(settings)}/maintenance/intake"
    )


schedules_app = typer.Typer(
    help=(
        "Temporal Schedules: the daily report's, each preventive job's "
        "(preventive-<job id>), and any other in the namespace."
    ),
    no_args_is_help=True,
)
app.add_typer(schedules_app, name="schedules")

ScheduleId = Annotated[
    str,
    typer.Argument(
        help=(
            "The schedule's id (opsdesk-daily-report for the daily report, "
            "preventive-<job id> for a preventive job)."
        )
    ),
]
NoteOption = Annotated[
    str | None, typer.Option("--note", help="Why, for whoever looks next (the UI shows it).")
]


def _with_temporal(
    settings: Settings, work: Callable[[Client], Awaitable[T]], schedule_id: str = ""
) -> T:
    """Run ``work`` with a client of the settings' Temporal; an unknown ``schedule_id`` or
    an unreachable server is a sentence and exit 1."""
    from temporalio.service import RPCError, RPCStatusCode

    from opsdesk.temporal.client import connect, connect_kwargs

    async def run() -> T:
        return await work(await connect(settings))

    try:
        return asyncio.run(run())
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            err.print(
                f"[red]error:[/] no schedule {schedule_id!r} here; "
                "`opsdesk schedules list` shows them"
            )
        else:
            err.print(f"[red]error:[/] Temporal refused: {exc.message}")
    except RuntimeError:
        where = connect_kwargs(settings)["target_host"]
        err.print(
            f"[red]error:[/] Temporal is unreachable at {where}: start it, or set TEMPORAL_ADDRESS"
        )
    _exit_now(1)


@schedules_app.command("list")
def schedules_list() -> None:
    """Show every schedule: whether it runs, its next runs and its last."""
    from rich.table import Table
    from temporalio.client import ScheduleListDescription

    settings = load_settings()

    async def listed(client: Client) -> list[ScheduleListDescription]:
        return [entry async for entry in await client.list_schedules()]

    def local(moment: datetime) -> str:
        return clock.moment(moment, settings.business_time_zone)

    entries = _with_temporal(settings, listed)
    table = Table("schedule", "state", f"next runs ({settings.business_time_zone})", "last run")
    for entry in sorted(entries, key=lambda e: e.id):
        state = entry.schedule.state if entry.schedule else None
        paused = state is not None and state.paused
        note = f" ({state.note})" if state is not None and state.note else ""
        recent = entry.info.recent_actions if entry.info else []
        upcoming = entry.info.next_action_times[:3] if entry.info else []
        table.add_row(
            entry.id,
            ("paused" if paused else "active") + note,
            "—" if paused else "\n".join(local(t) for t in upcoming) or "—",
            local(recent[-1].scheduled_at) if recent else "never",
        )
    Console().print(table)
    if not entries:
        err.print("no schedules yet: a worker creates the daily report's when it starts")
    _exit_now()


@schedules_app.command("trigger")
def schedules_trigger(schedule_id: ScheduleId) -> None:
    """Run the schedule's action now, whatever its calendar says (a paused one too)."""
    from temporalio.client import ScheduleOverlapPolicy

    async def trigger(client: Client) -> None:
        # Asked for by a person: run even if a run is still going.
        await client.get_schedule_handle(schedule_id).trigger(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL
        )

    _with_temporal(load_settings(), trigger, schedule_id)
    err.print(f"triggered {schedule_id}: it runs now")
    _exit_now()


@schedules_app.command("pause")
def schedules_pause(schedule_id: ScheduleId, note: NoteOption = None) -> None:
    """Stop the schedule's runs until it is unpaused (a worker's restart keeps it paused)."""

    async def pause(client: Client) -> None:
        await client.get_schedule_handle(schedule_id).pause(
            note=note or "paused with opsdesk schedules pause"
        )

    _with_temporal(load_settings(), pause, schedule_id)
    err.print(f"paused {schedule_id}")
    _exit_now()


@schedules_app.command("unpause")
def schedules_unpause(schedule_id: ScheduleId, note: NoteOption = None) -> None:
    """Let the schedule run again at its next time (missed runs are not made up)."""

    async def unpause(client: Client) -> None:
        await client.get_schedule_handle(schedule_id).unpause(
            note=note or "unpaused with opsdesk schedules unpause"
        )

    _with_temporal(load_settings(), unpause, schedule_id)
    err.print(f"unpaused {schedule_id}")
    _exit_now()


def _rollout_drill() -> NoReturn:
    """``opsdesk drill --rollout``: exits 1, naming what did not hold, if anything did not."""
    import shutil
    import tempfile

    from opsdesk.drill.rollout import DrillTimeout, rollout_on_dev_server
    from opsdesk.temporal.devserver import BinaryNotFound

    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="opsdesk-rollout-"))
    try:
        report = asyncio.run(rollout_on_dev_server(workdir, say=console.print))
    except (BinaryNotFound, DrillTimeout, ValueError, RuntimeError) as exc:
        err.print(f"[red]error:[/] the rollout drill stopped: {exc}")
        _exit_now(1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for check in report.checks:
        mark = "[green]ok[/]    " if check.ok else "[red]FAILED[/]"
        console.print(f"{mark} {check.what} ({check.detail})")
    if report.failures:
        err.print(f"[red]error:[/] {len(report.failures)} step(s) of the rollout did not hold")
        _exit_now(1)
    console.print("The rollout held: pinned orders stayed, requests moved, the old build drained.")
    _exit_now()


deployment_app = typer.Typer(
    help=(
        "Worker Versioning: the builds of the worker deployment, which one new workflows "
        "start on, and whether an old one has drained (docs/deployment.md)."
    ),
    no_args_is_help=True,
)
app.add_typer(deployment_app, name="deployment")


@deployment_app.command("status")
def deployment_status() -> None:
    """Show each build of the deployment: current or not, drained or not, and how many
    orders are still pinned to it. Stop a build's workers once it says drained."""
    from rich.table import Table

    from opsdesk.temporal.deployments import VersionStatus
    from opsdesk.temporal.deployments import deployment_status as status_of

    settings = load_settings()

    async def look(client: Client) -> list[VersionStatus]:
        return await status_of(client, settings.deployment_name)

    versions = _with_temporal(settings, look)
    if not versions:
        fail_now(
            f"no worker of deployment {settings.deployment_name!r} has polled yet: start one "
            "(opsdesk worker), or set OPSDESK_DEPLOYMENT_NAME to the one the workers use"
        )
    table = Table("build", "new workflows", "drainage", "pinned and open")
    for v in versions:
        table.add_row(
            v.build_id,
            "start here" if v.current else "",
            v.drainage.value,
            str(v.open_pinned),
        )
    Console().print(table)
    _exit_now()


@deployment_app.command("current")
def deployment_current(
    build_id: Annotated[str, typer.Argument(help="The build new workflows should start on.")],
) -> None:
    """Make a build current: new orders and requests start on it, running repair requests
    move to it at their next step, orders stay on the build that started them. To roll
    back, make the previous build current again (its workers must still run)."""
    from temporalio.common import WorkerDeploymentVersion

    from opsdesk.temporal.deployments import VersionNotRegistered, set_current
    from opsdesk.worker import task_queues

    if not re.fullmatch(BUILD_ID_PATTERN, build_id):
        fail(f"{build_id!r} is not a build id: letters, digits, '.', '_', '+' and '-'", code=2)
    settings = load_settings()
    version = WorkerDeploymentVersion(settings.deployment_name, build_id)

    async def choose(client: Client) -> str | VersionNotRegistered | None:
        try:
            return await set_current(client, version, task_queues(settings), within=10.0)
        except VersionNotRegistered as exc:
            return exc

    previous = _with_temporal(settings, choose)
    if isinstance(previous, VersionNotRegistered):
        fail_now(f"build {build_id} cannot take new workflows: {previous}")
    if previous == build_id:
        err.print(f"build {build_id} was already current")
    else:
        err.print(
            f"build {build_id} is current (before: {previous or 'none'}): new workflows start "
            "on it; `opsdesk deployment status` shows when the old build has drained"
        )
    _exit_now()


def main() -> None:
    app()
