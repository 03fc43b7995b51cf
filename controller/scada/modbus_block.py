"""The line's Modbus/TCP status and command block, for PLCs and SCADA that speak only Modbus
(started by ``poreline line run --modbus-endpoint HOST:PORT --modbus-allow ADDRESS``; off
unless configured). The register map, the handshake and the network-zone assumption are
documented in ``docs/scada-modbus-block.md``; the numbers below are that document's.

Threads
    The pymodbus server runs on an event loop of its own (:mod:`controller.scada.loop_thread`),
    like the OPC UA server: a flood of requests never runs on the scan loop. After every scan
    the runtime computes the status registers (:meth:`ModbusBlock.status_registers`, on its
    loop, where the engine lives) and hands them over with ``call_soon_threadsafe``; a
    publisher task stores them. A command runs on the runtime's loop
    (``LineService.command`` / ``start_run``), awaited by a task on the block's loop.

Who may write
    Modbus has no authentication: writes are accepted from the allow list's client addresses
    only (``--modbus-allow``, addresses or networks); any other client may read, and its
    writes answer exception 01 (ILLEGAL FUNCTION) and change nothing. The client address
    reaches the datastore hook through a context variable set per request by the
    connection's handler (pymodbus runs each request in a task of its own; the hook is
    awaited in it). The command's user is ``modbus:<client address>``.

Start
    Modbus cannot carry a recipe id: a Start runs the newest version of ``--modbus-recipe``
    released for production on this line, checked as an operator's start over the API or
    OPC UA (re-read at every Start). Without ``--modbus-recipe`` a Start is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from controller.engine.states import STATE_COMPLETE, Command, UnitState, accepted_commands
from controller.runtime.service import LineService, ServiceError
from controller.scada import packml
from controller.scada.block_map import (
    BLOCK_SIZE,
    COMMAND_CODES,
    LAYOUT_VERSION,
    REG_ACK_SEQUENCE,
    REG_COMMAND,
    REG_FLAGS,
    REG_HEARTBEAT,
    REG_LAYOUT,
    REG_SEQUENCE,
    UNIT_ID,
    WRITABLE,
    Result,
)
from controller.scada.counts import ProductCounter
from controller.scada.loop_thread import LoopThread, call_in
from controller.scada.recipes import RecipeRefused, RecipeSource

log = logging.getLogger(__name__)

VIA = "via Modbus/TCP"

OWN_UPDATE_FUNCTION_CODE = 3  # with values: the block's own update (a client's FC3 carries none)
WRITE_FUNCTION_CODES = frozenset({6, 16, 23})  # write single / multiple registers, read-write multiple
FLAG_RUN_ACTIVE, FLAG_STATE_CHANGING, FLAG_COMMAND_BUSY = 0x1, 0x2, 0x4

PEER: ContextVar[str] = ContextVar("poreline_modbus_peer", default="")


@dataclass(frozen=True, slots=True)
class ModbusSettings:
    """``host``/``port``: where to listen; ``allow``: the client addresses or networks whose
    writes are accepted; ``recipe_id``: what a Start runs (None: Start is refused)."""

    host: str
    port: int
    allow: tuple[str, ...] = ()
    recipe_id: str | None = None

    def __post_init__(self) -> None:
        for entry in self.allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"--modbus-allow: {entry!r} is not an IP address or network") from None

    def allows(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
            peer = peer.ipv4_mapped
        return any(peer in ipaddress.ip_network(entry, strict=False) for entry in self.allow)


def parse_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--modbus-endpoint: {text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class _PeerHandler(ServerRequestHandler):
    """Records the client's address for the datastore hook of the request being served."""

    async def handle_request(self) -> None:
        peer = self.transport.get_extra_info("peername") if self.transport is not None else None
        PEER.set(str(peer[0]) if peer else "")
        await super().handle_request()


class _Server(ModbusTcpServer):
    def callback_new_connection(self) -> ServerRequestHandler:
        return _PeerHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)


class ModbusBlock:
    def __init__(self, service: LineService, settings: ModbusSettings) -> None:
        self.service = service
        self.settings = settings
        self._thread = LoopThread(f"modbus-{service.line_id}")
        self._runtime_loop: asyncio.AbstractEventLoop | None = None
        self._server: _Server | None = None
        self._recipes = RecipeSource(service.config.database_url, service.line_id) if settings.recipe_id else None
        self._counter = ProductCounter(service.kind)
        self._heartbeat = 0
        self._last_status: tuple[int, ...] = ()
        # on the block's loop only:
        self._latest: list[int] | None = None
        self._wake = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._busy_sequence: int | None = None
        self._ack = [0, 0, int(Result.NONE)]  # sequence, command, result
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = settings.port  # the bound port once started (the OS's choice for 0)

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Listen (called on the runtime's loop); the status follows from the next scan."""
        self._runtime_loop = asyncio.get_running_loop()
        self._thread.start()
        try:
            await self._thread.run(self._start_server())
        except BaseException:
            await self._thread.stop()
            raise
        self.service.on_scan(self._on_scan)
        log.info("Modbus/TCP block of %s at %s:%d; writes from %s", self.service.line_id, self.settings.host,
                 self.port, ", ".join(self.settings.allow) or "nobody")

    async def _start_server(self) -> None:
        device = SimDevice(id=UNIT_ID, simdata=[SimData(address=0, count=BLOCK_SIZE, values=0,
                                                        datatype=DataType.REGISTERS)], action=self._on_access)
        server = _Server(device, address=(self.settings.host, self.settings.port))
        await server.serve_forever(background=True)
        sockets = getattr(server.transport, "sockets", None)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._server = server
        await server.async_setValues(UNIT_ID, OWN_UPDATE_FUNCTION_CODE, REG_LAYOUT, [LAYOUT_VERSION])
        self._publisher = asyncio.create_task(self._publish_forever(), name="modbus-publish")

    async def stop(self) -> None:
        if self._server is not None:
            await self._thread.run(self._stop_server())
        await self._thread.stop()
        if self._recipes is not None:
            self._recipes.close()

    async def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        wait_closed = getattr(server.transport, "wait_closed", None)
        await server.shutdown()
        if wait_closed is not None:
            await asyncio.wait_for(wait_closed(), timeout=2.0)

    # ------------------------------------------------------------------ status, every scan (runtime's loop)
    def status_registers(self) -> tuple[int, ...]:
        """Registers 1..11 (heartbeat to run id) from the engine as it is after this scan."""
        engine = self.service.line.engine
        self._counter.update(engine)
        state = UnitState(self.service.status()["state"])
        active = [a for a in engine.alarms.annunciated() if a.active]
        priority = min((a.definition.priority for a in active), default=0)
        product = self._counter.current(engine)
        count = max(0, min(int(product.value), 0xFFFFFFFF)) if product is not None else 0
        run_id = engine.run_id or 0
        step = engine.status().step_index
        flags = (FLAG_RUN_ACTIVE if engine.run_id is not None and state not in (UnitState.COMPLETE, UnitState.STOPPED,
                                                                                 UnitState.ABORTED) else 0)
        flags |= FLAG_STATE_CHANGING if STATE_COMPLETE.get(state) is not None else 0
        self._heartbeat = (self._heartbeat + 1) & 0xFFFF
        return (self._heartbeat, packml.STATE_NUMBERS[state], int(self.service.unit_mode), step + 1 if step >= 0 else 0,
                min(len(active), 0xFFFF), priority, flags, count >> 16, count & 0xFFFF, run_id >> 16 & 0xFFFF,
                run_id & 0xFFFF)

    def _on_scan(self, service: LineService) -> None:
        try:
            registers = self.status_registers()
        except Exception:  # publishing never breaks the scan loop
            log.exception("Modbus: status not collected")
            return
        try:
            self._thread.loop.call_soon_threadsafe(self._offer, list(registers))
        except RuntimeError:  # the block's loop is closing
            pass

    def _offer(self, registers: list[int]) -> None:
        self._latest = registers
        self._wake.set()

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            registers, self._latest = self._latest, None
            server = self._server
            if server is None:
                return
            if registers is not None:
                if self._busy_sequence is not None:
                    registers[REG_FLAGS - REG_HEARTBEAT] |= FLAG_COMMAND_BUSY
                await server.async_setValues(UNIT_ID, OWN_UPDATE_FUNCTION_CODE, REG_HEARTBEAT, registers)

    # ------------------------------------------------------------------ client writes (block's loop)
    async def _on_access(self, function_code: int, start_address: int, address: int, count: int,
                         current_registers: list[int], set_values: Sequence[int] | None) -> ExcCodes | None:
        if not set_values or function_code == OWN_UPDATE_FUNCTION_CODE:
            return None  # a read, or the block's own update
        peer = PEER.get()
        if not self.settings.allows(peer):
            log.warning("Modbus: write to %d..%d from %s refused: not on the allow list", address,
                        address + len(set_values) - 1, peer or "?")
            return ExcCodes.ILLEGAL_FUNCTION
        written = range(address, address + len(set_values))
        if function_code not in WRITE_FUNCTION_CODES:
            return ExcCodes.ILLEGAL_FUNCTION
        if any(r not in WRITABLE for r in written):
            return ExcCodes.ILLEGAL_ADDRESS
        if REG_SEQUENCE not in written:
            return None  # the command word alone: acted on when the sequence is written
        values = dict(zip(written, (int(v) for v in set_values), strict=True))
        code = values.get(REG_COMMAND, current_registers[REG_COMMAND - start_address])
        sequence = values[REG_SEQUENCE]
        if sequence == 0 or sequence == self._ack[0] or sequence == self._busy_sequence:
            return None  # 0 is never acted on; a repeated sequence is not a new command
        if self._busy_sequence is not None:
            self._spawn(self._acknowledge(sequence, code, Result.BUSY))
        else:
            self._busy_sequence = sequence
            self._spawn(self._execute(sequence, code, f"modbus:{peer}"))
        return None

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, sequence: int, code: int, user: str) -> None:
        try:
            result = await self._carry_out(code, user)
        except Exception:  # answered, never left unacknowledged
            log.exception("Modbus: command %d from %s failed", code, user)
            result = Result.REFUSED
        self._busy_sequence = None
        await self._acknowledge(sequence, code, result)

    async def _carry_out(self, code: int, user: str) -> Result:
        command = COMMAND_CODES.get(code)
        if command is None:
            log.info("Modbus: %s wrote command code %d: not a command", user, code)
            return Result.INVALID_COMMAND
        assert self._runtime_loop is not None
        state = await call_in(self._runtime_loop, self._state_now())
        allowed = state is UnitState.IDLE if command is Command.START else command in accepted_commands(state)
        if not allowed:
            log.info("Modbus: %s by %s not allowed in state %s", command.value, user, state.value)
            return Result.NOT_ALLOWED_IN_STATE
        try:
            if command is Command.START:
                await self._start(user)
            else:
                await call_in(self._runtime_loop, self.service.command(command.value, user, VIA))
        except (ServiceError, RecipeRefused) as exc:
            log.info("Modbus: %s by %s refused: %s", command.value, user,
                     exc.detail if isinstance(exc, ServiceError) else exc.message)
            return Result.REFUSED
        return Result.ACCEPTED

    async def _state_now(self) -> UnitState:
        return UnitState(self.service.status()["state"])

    async def _start(self, user: str) -> None:
        if self._recipes is None or self.settings.recipe_id is None:
            raise RecipeRefused("BadInvalidState", "no recipe for a Modbus start (--modbus-recipe)")
        prepared = await asyncio.to_thread(self._recipes.prepare, self.settings.recipe_id, 0, "operator", None)
        assert self._runtime_loop is not None
        await call_in(self._runtime_loop, self.service.start_run(
            prepared.document, user, VIA, {"recipe_state": prepared.state, "via": "modbus"},
            released_for_line=prepared.released_for_line))

    async def _acknowledge(self, sequence: int, code: int, result: Result) -> None:
        """Sequence, command and result in one store: a client never reads a mix."""
        if result is not Result.BUSY:
            self._ack = [sequence, code, int(result)]
        server = self._server
        if server is not None:
            await server.async_setValues(UNIT_ID, OWN_UPDATE_FUNCTION_CODE, REG_ACK_SEQUENCE,
                                         [sequence, code, int(result)])
