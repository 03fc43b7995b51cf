"""Admin commands of the ``poreline`` CLI: serve, db upgrade, users create, audit verify.

``register(app)`` adds them to the typer app of ``controller.cli.main``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()

Database = Annotated[str | None, typer.Option(
    "--database", "-d", envvar="PORELINE_DATABASE_URL",
    help="SQLAlchemy URL of the database (default sqlite:///var/poreline.db)")]


def _url(database: str | None) -> str:
    from controller.store import default_database_url

    return database or default_database_url()


def serve(
    database: Database = None,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    plant: Annotated[Path | None, typer.Option(
        "--plant", dir_okay=False,
        help="Plant file: drive the PLCs (or a served simulator) it names over Modbus/OPC UA "
             "instead of the built-in simulator")] = None,
    line: Annotated[str | None, typer.Option(
        "--line", help="Line kind of the idle line unless the plant file gives one (default: the default kind, "
                       "`poreline kinds`)")] = None,
    line_runtime: Annotated[list[str] | None, typer.Option(
        "--line-runtime", metavar="[LINE_ID=]ENDPOINT",
        help="Attach to the line runtime at [LINE_ID=]ipc://PATH or [LINE_ID=]tcp://HOST:PORT, started elsewhere "
             "(e.g. by systemd), instead of starting one; repeat it for several lines")] = None,
    line_runtime_key: Annotated[list[Path] | None, typer.Option(
        "--line-runtime-key", dir_okay=False, metavar="FILE",
        help="Key file of the runtime given in the same position (default: next to its ipc socket)")] = None,
    state_dir: Annotated[Path, typer.Option(
        "--state-dir", help="Where a runtime this server starts keeps its spool, socket and key")] = Path("var/runtime"),
    sim_speed: Annotated[float | None, typer.Option(
        "--sim-speed", help="Simulated seconds per wall second of the built-in simulator (default 1); "
                            "with --plant only for a served simulator running at that speed")] = None,
) -> None:
    """Start the REST API and the controller, on the built-in simulator or, with --plant, on
    the plant's PLCs (applies migrations)."""
    import uvicorn

    from controller.api import Settings, create_app
    from controller.api.runtime import runtime_addresses
    from controller.assembly import checked_kind

    try:  # PlantConfigError is a ValueError
        kind = checked_kind(plant, line)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    settings = Settings(database_url=_url(database), host=host, port=port, plant=plant, line_kind=line,
                        sim_speed=1.0 if sim_speed is None else sim_speed, line_runtime=line_runtime or [],
                        line_runtime_key=line_runtime_key or [], state_dir=state_dir)
    try:
        attached = runtime_addresses(settings)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    if attached:
        where = "the line runtimes at " + ", ".join(a.endpoint for a, _key in attached)
    elif plant is not None:
        where = f"the plant of {plant} ({kind.name} line, wall clock x{settings.sim_speed:g})"
    else:
        where = f"the built-in simulator ({kind.name} line, x{settings.sim_speed:g})"
    console.print(f"Poreline API on http://{settings.host}:{settings.port}/docs, controlling {where}",
                  highlight=False)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


def db_upgrade(database: Database = None) -> None:
    """Apply pending database migrations."""
    from controller.store import upgrade

    url = _url(database)
    upgrade(url)
    console.print(f"database at head: {url}")


def users_create(
    username: Annotated[str, typer.Argument(help="User name")],
    role: Annotated[str, typer.Option(help="viewer, operator, engineer or admin")] = "viewer",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="Password (prompted when omitted)")] = "",
    database: Database = None,
) -> None:
    """Create a user (the first admin: --role admin)."""
    from controller.store import audit, create_engine_for, session_factory, upgrade, users
    from controller.store.database import writer

    url = _url(database)
    upgrade(url)
    engine = create_engine_for(url)
    try:
        with session_factory(writer(engine))() as session:
            if users.get_user(session, username) is not None:
                console.print(f"[red]user {username!r} already exists[/red]")
                raise typer.Exit(1)
            try:
                users.create_user(session, username, password, role)
            except ValueError as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
            audit.append(session, "cli", "user.created", f"user {username}", {"role": role})
            session.commit()
    finally:
        engine.dispose()
    console.print(f"created {role} {username}")


def audit_verify(database: Database = None) -> None:
    """Verify the audit trail's hash chain; exit 1 naming the first bad row."""
    from controller.store import audit, create_engine_for, session_factory

    engine = create_engine_for(_url(database))
    try:
        with session_factory(engine)() as session:
            result = audit.verify(session)
    finally:
        engine.dispose()
    if result.ok:
        console.print(f"[green]OK[/green] {result.reason}")
        return
    console.print(f"[red]FAILED[/red] at row {result.first_bad_id}: {result.reason}", markup=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    db = typer.Typer(help="Database maintenance.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")
    user_app = typer.Typer(help="User management.", no_args_is_help=True)
    user_app.command("create")(users_create)
    app.add_typer(user_app, name="users")
    audit_app = typer.Typer(help="Audit trail.", no_args_is_help=True)
    audit_app.command("verify")(audit_verify)
    app.add_typer(audit_app, name="audit")
