"""Hardware-in-the-loop commands: ``poreline sim serve`` (the simulator as virtual PLCs)
and ``poreline profiles`` (the published maps), registered on the main app by :func:`register`.

OPC UA security of ``sim serve`` (docs/opcua-security.md): by default SecurityPolicy None
with anonymous sessions that may read but not write; ``--allow-anonymous-writes`` lets
them write (a loopback test bench). ``--secure`` serves only Basic256Sha256
SignAndEncrypt with the ``--user``/``--password-file`` pairs and client certificates from
``--trust-dir`` (or any, with ``--trust-any-client``); the server certificate is
``--certificate``/``--private-key`` (made and written there on first use) or generated at
start, and its SHA-256 fingerprint is printed for the plant file's pin. Passwords are read
from files and never printed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from controller.cli.common import LineOption, compile_recipe_file, console, line_kind
from controller.cli.profiles import ProfileFormat, render_profiles
from drivers.opcua.security import (
    CertificateError,
    CertificatePair,
    PasswordFileError,
    load_certificate_pair,
    make_self_signed_certificate,
    read_password_file,
    sha256_fingerprint,
    write_certificate_pair,
)
from drivers.transport import DEFAULT_PLANT_WATCHDOG_S

if TYPE_CHECKING:
    from simulator.serve.runner import ServerSecurity


class SimServeError(ValueError):
    """A ``sim serve`` option that cannot be used; the message names the option."""


def register(app: typer.Typer) -> None:
    """Add ``sim serve`` and ``profiles`` to the ``poreline`` app."""
    sim = typer.Typer(help="The simulator served as virtual PLCs.", no_args_is_help=True)
    app.add_typer(sim, name="sim")

    @sim.command("serve")
    def serve(
        line: LineOption = None,
        modbus_port: Annotated[int, typer.Option(min=0, max=65535, help="Modbus/TCP port on 127.0.0.1")] = 5020,
        opcua_port: Annotated[int, typer.Option(min=0, max=65535, help="OPC UA port on 127.0.0.1")] = 4840,
        host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
        speed: Annotated[float, typer.Option(help="Simulated seconds per wall second")] = 1.0,
        seed: Annotated[int, typer.Option(help="Simulator noise seed")] = 0,
        watchdog_s: Annotated[float, typer.Option(
            "--watchdog", help="Heartbeat watchdog, wall seconds")] = DEFAULT_PLANT_WATCHDOG_S,
        recipe: Annotated[Path | None, typer.Option(
            exists=True, dir_okay=False,
            help="Prepare the plant for this recipe (e.g. charge the dope vessels, feed the polymer)")] = None,
        secure: Annotated[bool, typer.Option(
            "--secure", help="OPC UA: only Basic256Sha256 SignAndEncrypt with users (--user, --password-file)")] = False,
        user: Annotated[list[str] | None, typer.Option(
            "--user", help="OPC UA user name (repeatable; each with a --password-file, in order)")] = None,
        password_file: Annotated[list[Path] | None, typer.Option(
            "--password-file", help="File whose first line is the password of the --user at the same position")] = None,
        trust_dir: Annotated[Path | None, typer.Option(
            "--trust-dir", help="Directory of trusted OPC UA client certificates or their CAs (DER/PEM)")] = None,
        trust_any_client: Annotated[bool, typer.Option(
            "--trust-any-client", help="Accept any OPC UA client certificate (test bench only)")] = False,
        certificate: Annotated[Path | None, typer.Option(
            "--certificate", help="Server certificate (DER/PEM); made together with --private-key if both are absent")] = None,
        private_key: Annotated[Path | None, typer.Option(
            "--private-key", help="Server private key (PEM/DER, unencrypted; written 0600 when made)")] = None,
        allow_anonymous_writes: Annotated[bool, typer.Option(
            "--allow-anonymous-writes", help="Let anonymous OPC UA sessions write setpoints, commands and "
                                             "the heartbeat (refused by default)")] = False,
    ) -> None:
        """Serve a simulated line over Modbus/TCP and OPC UA until interrupted."""
        from controller.assembly import simulated_plant
        from simulator.serve.runner import ServedPlant, ServerSecurity

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        security: ServerSecurity | None = None
        try:
            if secure:
                if (trust_dir is None) != trust_any_client:
                    raise SimServeError("--trust-dir: --secure needs --trust-dir DIR or --trust-any-client (one of them)")
                if trust_dir is not None and not trust_dir.is_dir():
                    raise SimServeError(f"--trust-dir: {trust_dir} is not a directory")
                pair = _server_certificate(certificate, private_key)
                security = ServerSecurity(users=_users(user or [], password_file or []), trust_dir=trust_dir,
                                          trust_any_client=trust_any_client, certificate=pair)
            else:
                unused = [name for name, value in (("--user", user), ("--password-file", password_file),
                                                   ("--trust-dir", trust_dir), ("--trust-any-client", trust_any_client),
                                                   ("--certificate", certificate), ("--private-key", private_key))
                          if value]
                if unused:
                    raise SimServeError(f"{unused[0]}: only with --secure")
        except (SimServeError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(2) from None
        compiled = compile_recipe_file(recipe) if recipe is not None else None
        kind = line_kind(compiled.header.line_kind if compiled is not None and line is None else line)
        definition = kind.definition()
        try:
            plant = simulated_plant(kind, definition, compiled, seed)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        served = ServedPlant(plant, definition, host=host, modbus_port=modbus_port, opcua_port=opcua_port,
                             speed=speed, watchdog_s=watchdog_s, opcua_security=security,
                             allow_anonymous_writes=allow_anonymous_writes)

        async def go() -> None:
            await served.start()
            typer.echo(f"OPC UA security: {_describe_security(security, allow_anonymous_writes)}")
            if security is not None and security.certificate is not None:
                typer.echo(f"OPC UA server certificate sha256 {sha256_fingerprint(security.certificate.certificate_der)}")
            console.print(f"serving {definition.name}: Modbus/TCP {host}:{served.modbus_port}, "
                          f"OPC UA {served.opcua_endpoint}, speed {speed:g}x, watchdog {watchdog_s:g} s",
                          highlight=False)
            try:
                await asyncio.Event().wait()  # until interrupted
            finally:
                await served.stop()

        try:
            asyncio.run(go())
        except KeyboardInterrupt:
            console.print("stopped")

    @app.command("profiles")
    def profiles(
        fmt: Annotated[ProfileFormat, typer.Option("--format", help="json or markdown")] = ProfileFormat.JSON,
        line: LineOption = None,
    ) -> None:
        """Print every device's tags with units, limits, Modbus and OPC UA addresses, and the
        derived tags the controller computes."""
        typer.echo(render_profiles(line_kind(line).definition(), fmt))


def _users(names: list[str], password_files: list[Path]) -> dict[str, str]:
    """``--user`` i with the first line of ``--password-file`` i; SimServeError naming the option."""
    if not names:
        raise SimServeError("--user: --secure needs at least one --user with a --password-file")
    if len(names) != len(password_files):
        raise SimServeError(f"--password-file: {len(names)} --user but {len(password_files)} --password-file "
                            "(one each, in the same order)")
    users: dict[str, str] = {}
    for name, path in zip(names, password_files, strict=True):
        if not name or name in users:
            raise SimServeError(f"--user: {name!r} is empty or given twice")
        try:
            users[name] = read_password_file(path)
        except PasswordFileError as exc:
            raise SimServeError(f"--password-file: {exc}") from None
    return users


def _server_certificate(certificate: Path | None, private_key: Path | None) -> CertificatePair:
    """The server's certificate pair: loaded from both files, made and written to both when
    neither exists, or generated in memory when neither option is given."""
    from simulator.serve.runner import SERVER_APPLICATION_URI

    if certificate is None and private_key is None:
        return make_self_signed_certificate(SERVER_APPLICATION_URI, "Poreline plant simulator", server=True)
    if certificate is None or private_key is None:
        raise SimServeError("--certificate and --private-key go together")
    if certificate.exists() and private_key.exists():
        try:
            return load_certificate_pair(certificate, private_key)
        except CertificateError as exc:
            raise SimServeError(f"--certificate/--private-key: {exc}") from None
    if certificate.exists() or private_key.exists():
        raise SimServeError(f"--certificate/--private-key: only one of {certificate} and {private_key} exists")
    pair = make_self_signed_certificate(SERVER_APPLICATION_URI, "Poreline plant simulator", server=True)
    try:
        write_certificate_pair(pair, certificate, private_key)
    except OSError as exc:
        raise SimServeError(f"--certificate/--private-key: cannot write: {exc.strerror}") from None
    typer.echo(f"made the server certificate {certificate} and its key {private_key}")
    return pair


def _describe_security(security: ServerSecurity | None, anonymous_writes: bool) -> str:
    writes = "allowed" if anonymous_writes else "refused"
    if security is None:
        return f"SecurityPolicy None, anonymous sessions (anonymous writes {writes})"
    clients = ("any client certificate (test bench)" if security.trust_any_client
               else f"client certificates trusted by {security.trust_dir}")
    return (f"Basic256Sha256 SignAndEncrypt, users {', '.join(sorted(security.users))}, {clients}, "
            f"anonymous sessions {'allowed to write' if anonymous_writes else 'refused'}")
