"""Admin commands of the ``poreline`` CLI: serve, db upgrade, users create, audit verify and
audit checkpoint.

``register(app)`` adds them to the typer app of ``controller.cli.main``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from controller.cli import users as cli_users
from controller.cli.users import PasswordFile, PasswordStdin, error_exit, existing_database, read_new_password

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
    tls_cert: Annotated[Path | None, typer.Option(
        "--tls-cert", dir_okay=False, metavar="FILE", help="Serve HTTPS with this PEM certificate (chain)")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        "--tls-key", dir_okay=False, metavar="FILE", help="The PEM private key of --tls-cert")] = None,
    insecure_http: Annotated[bool, typer.Option(
        "--insecure-http", help="Allow plain HTTP on a non-loopback --host (passwords and tokens cross the "
                                "network unencrypted)")] = False,
) -> None:
    """Start the REST API and the controller, on the built-in simulator or, with --plant, on
    the plant's PLCs (applies migrations). A non-loopback --host needs --tls-cert and --tls-key
    (or --insecure-http)."""
    import uvicorn

    from controller.cli.bind import bind_refusal
    from controller.cli.errors import fail

    refusal = bind_refusal(host, tls_cert, tls_key, insecure_http)
    if refusal is not None:
        fail(refusal, 2)  # one line on stderr, before anything starts

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
    scheme = "https" if tls_cert is not None else "http"
    console.print(f"Poreline API on {scheme}://{settings.host}:{settings.port}/docs, controlling {where}",
                  highlight=False)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                ssl_certfile=str(tls_cert) if tls_cert is not None else None,
                ssl_keyfile=str(tls_key) if tls_key is not None else None)


def db_upgrade(database: Database = None) -> None:
    """Apply pending database migrations."""
    from controller.store import upgrade

    url = _url(database)
    upgrade(url)
    console.print(f"database at head: {url}")


def users_create(
    username: Annotated[str, typer.Argument(help="User name")],
    role: Annotated[str, typer.Option(help="viewer, operator, engineer or admin")] = "viewer",
    password_file: PasswordFile = None,
    password_stdin: PasswordStdin = False,
    full_name: Annotated[str | None, typer.Option(
        "--full-name", help="Printed name shown on the user's e-signatures (default: the user name)")] = None,
    database: Database = None,
) -> None:
    """Create a user (the first admin: --role admin). The password is prompted for (hidden, typed
    twice) or read with --password-file or --password-stdin; never given as an argument."""
    from controller.store import audit, create_engine_for, session_factory, upgrade, users
    from controller.store.database import writer

    password = read_new_password(password_file, password_stdin)
    url = _url(database)
    upgrade(url)
    engine = create_engine_for(url)
    try:
        with session_factory(writer(engine))() as session:
            if users.get_user(session, username) is not None:
                console.print(f"[red]user {username!r} already exists[/red]")
                raise typer.Exit(1)
            try:
                created = users.create_user(session, username, password, role, full_name=full_name)
            except ValueError as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
            audit.append(session, "cli", "user.created", f"user {username}",
                         {"role": role, "full_name": created.full_name})
            session.commit()
    finally:
        engine.dispose()
    console.print(f"created {role} {username}")


KeyFile = Annotated[Path | None, typer.Option(
    "--key-file", envvar="PORELINE_AUDIT_KEY_FILE", dir_okay=False,
    help="HMAC key of the checkpoints, kept outside the database (readable by its owner only)")]


def audit_verify(
    database: Database = None,
    checkpoints: Annotated[Path | None, typer.Option(
        "--checkpoints", envvar="PORELINE_AUDIT_CHECKPOINTS", dir_okay=False,
        help="Checkpoint file (`poreline audit checkpoint --out`): also detect rows deleted from the end "
             "(truncation) and rows rewritten with a recomputed chain (re-hashing); needs --key-file")] = None,
    key_file: KeyFile = None,
    head: Annotated[list[str] | None, typer.Option(
        "--head", metavar="ID:HASH",
        help="A head recorded elsewhere, e.g. the audit_head of a batch report (repeatable)")] = None,
) -> None:
    """Verify the audit trail's hash chain (and, with --checkpoints or --head, against heads recorded
    outside the database); one line per finding, exit 1 on any."""
    from sqlalchemy.exc import SQLAlchemyError

    from controller.store import audit, create_engine_for, session_factory
    from controller.store import audit_checkpoints as anchors

    url = existing_database(database)
    heads: list[anchors.Anchor] = []
    for given in head or []:
        head_id, _, head_hash = given.partition(":")
        if not head_id.isdigit() or len(head_hash) != 64:
            raise error_exit(f"--head: {given[:80]!r} is not ID:HASH (a row id, a colon, the 64 hex digits of its hash)")
        heads.append(anchors.Anchor(f"--head {head_id}", int(head_id), head_hash.lower()))
    lines: list[anchors.CheckpointLine] = []
    findings: list[str] = []
    if checkpoints is not None:
        if key_file is None:
            raise error_exit("--checkpoints needs --key-file FILE (the key that signed them)")
        try:
            lines, findings = anchors.read_checkpoints(checkpoints, anchors.read_key(key_file))
        except anchors.CheckpointError as exc:
            raise error_exit(str(exc)) from None
    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            result = audit.verify(session)
            findings += anchors.verify_checkpoints(session, lines, source=checkpoints.name if checkpoints else "")
            findings += anchors.verify_anchors(session, heads)
    except SQLAlchemyError as exc:
        raise error_exit(f"cannot read the audit trail at {url}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    if not result.ok:
        findings.insert(0, f"row {result.first_bad_id}: {result.reason}")
    for finding in findings:
        console.print(f"[red]FAILED[/red] {finding}", highlight=False, soft_wrap=True)
    if findings:
        raise typer.Exit(1)
    anchored = f"; {len(lines)} checkpoint(s) match" if checkpoints is not None else ""
    anchored += f"; {len(heads)} recorded head(s) match" if heads else ""
    console.print(f"[green]OK[/green] {result.reason}{anchored}", highlight=False)


def audit_checkpoint(
    key_file: KeyFile = None,
    out: Annotated[Path | None, typer.Option(
        "--out", envvar="PORELINE_AUDIT_CHECKPOINTS", dir_okay=False,
        help="Append the checkpoint line to this file (JSON lines; keep it away from the database); "
             "omitted: print the line only")] = None,
    create_key: Annotated[bool, typer.Option(
        "--create-key", help="Create the key file (mode 0600) when it does not exist yet")] = False,
    database: Database = None,
) -> None:
    """Record the audit trail's head (id, hash, time) authenticated with HMAC-SHA256 under a key
    kept outside the database: `audit verify --checkpoints` then detects truncation and re-hashing."""
    from sqlalchemy.exc import SQLAlchemyError

    from controller.store import audit_checkpoints as anchors
    from controller.store import create_engine_for, session_factory

    if key_file is None:
        raise error_exit("give --key-file FILE (or PORELINE_AUDIT_KEY_FILE): the HMAC key kept outside the database; "
                    "--create-key creates it")
    url = existing_database(database)
    try:
        if create_key and not key_file.exists():
            anchors.create_key(key_file)
            console.print(f"created key file {key_file} (mode 0600): keep a copy away from the database",
                          highlight=False, soft_wrap=True)
        key = anchors.read_key(key_file)
    except (anchors.CheckpointError, OSError) as exc:
        raise error_exit(str(exc)) from None
    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            checkpoint = anchors.take_checkpoint(session, key)
    except SQLAlchemyError as exc:
        raise error_exit(f"cannot read the audit trail at {url}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    if out is None:
        print(checkpoint.to_line())
        return
    try:
        anchors.append_checkpoint(out, checkpoint)
    except OSError as exc:
        raise error_exit(f"--out: cannot append to {out}: {exc.strerror or exc}") from None
    console.print(f"checkpoint: audit row {checkpoint.id} hash {checkpoint.hash[:12]}... appended to {out}",
                  highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    db = typer.Typer(help="Database maintenance.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")
    user_app = typer.Typer(help="User management.", no_args_is_help=True)
    user_app.command("create")(users_create)
    cli_users.register(user_app)
    app.add_typer(user_app, name="users")
    audit_app = typer.Typer(help="Audit trail.", no_args_is_help=True)
    audit_app.command("verify")(audit_verify)
    audit_app.command("checkpoint")(audit_checkpoint)
    app.add_typer(audit_app, name="audit")
