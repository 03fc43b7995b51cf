"""The line runtime's OPC UA server for plant SCADA: the line as a PackML unit.

It lives in the runtime process (started by ``poreline line run --opcua-endpoint ...``;
off unless configured) with an event loop on a thread of its own
(:mod:`controller.scada.loop_thread`), not on the runtime's scan loop: asyncua verifies a
password synchronously while it activates a session (one argon2 hash, 0.1-0.7 s) and
encrypts every message in Python, and none of that may stretch a scan. The address space is
:mod:`controller.scada.packml`'s; who may call what is :mod:`controller.scada.access`'s.

Values, every scan
    The runtime calls :meth:`OpcUaFacade._collect` after each scan (``LineService.on_scan``,
    on the runtime's loop, where the engine lives): it compares the state, the process tags
    and the counters with what was last published and queues only the changed values
    (dictionary look-ups under a lock; no I/O), then wakes the server's loop with
    ``call_soon_threadsafe``. A publisher task there writes them with
    ``write_attribute_value`` (the fast path, which also notifies subscriptions), so a slow
    subscriber never delays a scan.
    A process value is republished only once it moved its tag's noise band (``Tag.noise``,
    declared in the device profile; without one ``deadband_fraction``, 0.2 %, of its span)
    from the value last published, or its quality changed, so sensor noise does not flood
    subscribers; states, counters and alarms on every change.

Commands
    The state machines' methods call the runtime's command path on the runtime's loop
    (``asyncio.run_coroutine_threadsafe``, awaited by the callback; ``LineService.command``:
    the engine's PackML transition table, the interlock checks, the audit trail, the run's
    command log) with the OPC UA session's user name as the command's user and ``via OPC
    UA`` as its reason. The session's user reaches the callback through the permission
    ruleset (see :mod:`controller.scada.access`). Roles: viewer none; operator and above
    every PackML command and ``SelectRecipe``; engineer and above also write the loops'
    faceplates (``Loops/<loop>/Mode, SetValue, Output``: the runtime's faceplate path, the
    same rules, audit and command log as ``POST /loops``; a refused write answers its node's
    Bad status; :mod:`controller.scada.loops`).

    - Abort, Clear (BaseStateMachine); Stop, Reset (MachineState); Hold, Unhold, Suspend,
      Unsuspend, Reset (ExecuteState): the engine's commands of the same name.
    - Start (ExecuteState): PackML's, from Idle only (the API also starts from a final
      state; over OPC UA, Reset first). It runs the version chosen with ``SelectRecipe``
      (:mod:`controller.scada.recipes`) with the adjustments ``SetParameter`` made; its
      ``Parameter`` argument must be empty (adjust beforehand, as an engineer).
    - SetParameter(Parameter: PackMLDescriptorDataType[]), engineer and above, where no run
      executes (Idle, Stopped, Aborted, Complete): adjusts the selection's formula for the
      next Start (a control recipe, ISA-88; :mod:`controller.recipe.adjust`): each
      descriptor's Name a formula parameter that declares limits, its Value within them, in
      the unit ``Status.Parameter`` states (a descriptor whose Unit names another UnitId is
      refused); later calls add to the adjustments, an empty array drops them all. Shown in
      ``Status.Parameter`` and ``Product``, audited as ``run.parameters_adjusted``; the run's
      batch record keeps each master value beside the value run. A parameter the formula
      lacks or fixes: ``BadInvalidArgument``; outside its limits: ``BadOutOfRange``; no
      selection or a run executing: ``BadInvalidState``.
    - ToComplete, SetMachSpeed, SetProduct, RemoteCommand, SetInterlock: ``BadNotSupported``
      (the procedure completes itself; the product is selected with ``SelectRecipe``; a
      loop's setpoint changes through its faceplate above).
    - SetUnitMode(1 Production, 2 Maintenance, 3 Manual), engineer and above: the runtime's
      mode change (``LineService.set_unit_mode``, as ``POST /line/mode``), only where no run
      executes (Idle, Stopped, Aborted, Complete: ``BadInvalidState`` otherwise); a run starts
      in Production only.

    A command the state does not accept answers ``BadInvalidState`` and changes nothing
    (the engine logs the refusal in the command log, as it does for the API); a refused
    role ``BadUserAccessDenied``; a missing selection, an argument out of place
    ``BadInvalidState`` / ``BadInvalidArgument``.

Content
    ``Status``: UnitModeCurrent (the runtime's mode), StateRequested and StateChangeInProcess (an
    acting state and the wait state it leads to), CurMachSpeed / MachSpeed (the kind's
    machine-speed tag and its setpoint), Product (ProductID = the recipe version,
    ProcessVariables = the formula with units), Parameter (the formula the next Start runs,
    SetParameter's adjustments included), and in
    Poreline's namespace StateCurrent (the PackML state number), RecipeId, RecipeVersion,
    RunId. ``Admin``: Alarm[] (the annunciated alarms: ID = a CRC-32 of the alarm id, whose
    text leads Message; Category = priority; DateTime raised; AckDateTime acknowledged;
    Trigger = active), AlarmExtent, StopReason (the command or alarm that last held,
    suspended, stopped or aborted the line), ProdProcessedCount (the kind's product
    quantity: metres cast, kg extruded; Count this run, AccCount since the runtime
    started), ProdDefectiveCount (seconds of production with outputs forced safe, from
    the engine's production deviations once each closes), MachDesignSpeed; AlarmHistory[]
    (the last 16 alarms that ended: returned to normal and acknowledged, newest last; the
    same fields, Trigger false; AlarmHistoryExtent = 16, the bound;
    :mod:`controller.scada.alarm_history`), StateCurrentTime and StateCumulativeTime
    (seconds per [unit mode][state number]; :mod:`controller.scada.state_times`).
    ``Status.EquipmentBlocked`` and ``EquipmentStarved`` are always false: the engine does
    not know either. Poreline models a line alone, with no upstream or downstream machine
    it could wait for, and no alarm of the line kinds says "no feed" (the dope vessels'
    mass and the extruder's feed are not alarmed as a supply; the line is held by a fault
    of its own equipment), so reading a hold as starved or blocked would be a guess.

Companion specification
    A kind whose line fits one (``LineKind.companion_model``: the foaming line, EUROMAP 84)
    is also served as that model's instances (:mod:`controller.scada.companion`), their
    variables published with the tags. The address space is built before the line scans
    (:meth:`OpcUaFacade.start`): built while the line scanned, it stretched the 100 ms
    scan to 400-500 ms (p99), because that Python code shares the interpreter lock with
    the scan however its thread is scheduled.

Type nodesets
    PackML's and a companion specification's nodesets are imported once and then taken
    from a cache in ``FacadeSettings.type_cache_dir`` (the runtime's state directory;
    :mod:`controller.scada.type_cache`): EUROMAP 84's seven nodesets take ~7 s to import
    on an idle 2-core machine (16-37 s on a busy one), their cached image well under a
    second, so a restarted runtime takes its line over seconds sooner.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from asyncua import Server, ua
from asyncua.common.callback import CallbackType
from cryptography import x509

from controller.engine.scan import Engine
from controller.engine.states import MODE_CHANGE_STATES, STATE_COMPLETE, UnitMode, UnitState
from controller.lines.companion import CompanionModel
from controller.runtime.service import LineService, ServiceError
from controller.scada import companion, packml, type_cache
from controller.scada.access import (
    Account,
    SessionRules,
    StoreUserManager,
    UserDirectory,
    current_caller,
)
from controller.scada.alarm_history import HISTORY_LENGTH, AlarmJournalReader
from controller.scada.counts import ProductCounter
from controller.scada.loop_thread import LoopThread, call_in
from controller.scada.loops import LoopWrites, action_of
from controller.scada.recipes import PreparedRecipe, RecipeRefused, RecipeSource
from controller.scada.state_times import StateTimes
from controller.scada.units import eu_information
from drivers.definition import LineDefinition
from drivers.opcua.security import CertificateError, CertificatePair, application_uri_of, trusted_by_directory
from drivers.transport import Quality

log = logging.getLogger(__name__)

APPLICATION_URI = "urn:poreline:line-runtime:opcua-server"
VIA = "via OPC UA"
# the command that leads into each of these states (an acting state may last a single scan)
_STOP_COMMANDS = {UnitState.HOLDING: "hold", UnitState.HELD: "hold", UnitState.SUSPENDING: "suspend",
                  UnitState.SUSPENDED: "suspend", UnitState.STOPPING: "stop", UnitState.STOPPED: "stop",
                  UnitState.ABORTING: "abort", UnitState.ABORTED: "abort"}
_HTTP_TO_STATUS = {403: "BadUserAccessDenied", 404: "BadNotFound", 409: "BadInvalidState",
                   422: "BadInvalidArgument", 503: "BadResourceUnavailable"}
MethodCallback = Callable[..., Awaitable[Any]]
# a process value whose profile declares no noise band (``Tag.noise``) is republished once
# it moved this share of its tag's span (high - low) from the value last published
# (assumption: 0.2 % is under a transmitter's stated accuracy and over the simulator's
# sensor noise on most tags)
DEADBAND_FRACTION = 0.002
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FacadeSettings:
    """``endpoint``: ``opc.tcp://host:port[/path]``. Client application certificates are
    accepted when ``trust_dir`` trusts them (the certificate or its CA), or all of them
    with ``trust_any_client`` (a bench; user name and password are still required).
    ``type_cache_dir``: where the imported type nodesets are cached (None: imported at
    every start)."""

    endpoint: str
    certificate: CertificatePair
    trust_dir: Path | None = None
    trust_any_client: bool = False
    type_cache_dir: Path | None = None
    deadband_fraction: float = DEADBAND_FRACTION

    def __post_init__(self) -> None:
        if (self.trust_dir is not None) == self.trust_any_client:
            raise ValueError("OPC UA: give a trust list of client certificates (--opcua-trust-dir) or accept any "
                             "client certificate (--opcua-trust-any-client) -- one of them")


def _status(name: str) -> ua.StatusCode:
    return ua.StatusCode(getattr(ua.StatusCodes, name))


class OpcUaFacade:
    def __init__(self, service: LineService, settings: FacadeSettings) -> None:
        self.service = service
        self.settings = settings
        self._users = UserDirectory(service.config.database_url)
        self._recipes = RecipeSource(service.config.database_url, service.line_id)
        self._server: Server | None = None
        self.nodes: packml.UnitNodes | None = None
        self._closed = False
        self._thread = LoopThread(f"opcua-{service.line_id}")
        self._runtime_loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()  # used on the server's loop only
        self._lock = threading.Lock()  # _pending and _published: filled on both loops, flushed on the server's
        self._pending: dict[ua.NodeId, ua.DataValue] = {}
        self._published: dict[ua.NodeId, Any] = {}
        self._publisher: asyncio.Task[None] | None = None
        self._selection: PreparedRecipe | None = None
        self._counter = ProductCounter(service.kind)
        self._journal = AlarmJournalReader()
        self._state_times = StateTimes()
        self._state: UnitState | None = None
        self._alarm_key: tuple[Any, ...] | None = None
        self._companion: list[packml.TagVariable] = []  # the companion instances' variables, once built
        self.address_space_build_s: float | None = None
        self.types_from_cache = False

    @property
    def namespace_index(self) -> int:
        assert self.nodes is not None
        return self.nodes.namespace_index

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Build the address space and listen, on the server's own thread (called on the
        runtime's loop, before the line scans); values follow from the first scan."""
        self._runtime_loop = asyncio.get_running_loop()
        self._thread.start()
        try:
            await self._thread.run(self._start_server())
        except BaseException:
            await self._thread.stop()
            raise
        self.service.on_scan(self._on_scan)
        log.info("OPC UA server of %s at %s (namespace %s), address space built in %.1f s (types %s)",
                 self.service.line_id, self.settings.endpoint, packml.NAMESPACE_URI, self.address_space_build_s,
                 "from the cache" if self.types_from_cache else "imported")

    async def _start_server(self) -> None:
        started = time.perf_counter()
        definition = self.service.kind.definition(self.service.line_id)
        model = self.service.kind.companion_model(definition)
        await self._users.start()
        server = Server(user_manager=StoreUserManager(self._users))
        await server.init()
        try:
            await self._configure(server)
            nodesets = [packml.NODESET, *(companion.nodeset_paths(model) if model is not None else ())]
            self.types_from_cache = await type_cache.load_nodesets(server, nodesets, self.settings.type_cache_dir)
            # the kind's loops (a plant file's settings change trips, not loops); the line is not built yet
            self.nodes = await packml.build_unit(server, self.service.line_id, definition,
                                                 self.service.kind.control(definition).loops)
            if model is not None:
                self._companion = await self._companion_instances(server, model, definition)
            self._link_methods(server, self.nodes)
            writes = LoopWrites(self.nodes.loops, self._set_loop_field, self._writer)
            server.subscribe_server_callback(CallbackType.PreWrite, writes.before)
            server.subscribe_server_callback(CallbackType.PostWrite, writes.after)
            await self._write_constants(server, self.nodes)
            await server.start()
        except BaseException:
            await self._users.close()
            raise
        self._server = server
        self._publisher = asyncio.create_task(self._publish_forever(), name="opcua-publish")
        self.address_space_build_s = time.perf_counter() - started

    async def _companion_instances(self, server: Server, model: CompanionModel,
                                   definition: LineDefinition) -> list[packml.TagVariable]:
        """The line as ``model``'s instances; their variables (none when the model does not
        fit the types: the PackML unit is served all the same)."""
        assert self.nodes is not None
        try:
            variables = await companion.build(server, self.service.line_id, model, definition,
                                              self.nodes.namespace_index)
        except Exception:
            log.exception("OPC UA: %s not served", model.specification)
            return []
        log.info("OPC UA: %s of %s served (%d values)", model.specification, self.service.line_id, len(variables))
        return variables

    @property
    def companion_served(self) -> bool:
        """Whether the kind's companion-specification instances are served."""
        return bool(self._companion)

    async def refresh_users(self) -> None:
        """Read the user store now (e.g. once the runtime has migrated the database)."""
        await self._thread.run(self._users.refresh())

    async def stop(self) -> None:
        self._closed = True
        if self._server is not None:
            await self._thread.run(self._stop_server())
        await self._thread.stop()

    async def _stop_server(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            try:
                await self._publisher
            except asyncio.CancelledError:
                pass
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
        await self._users.close()
        self._recipes.close()

    async def _configure(self, server: Server) -> None:
        settings = self.settings
        server.set_endpoint(settings.endpoint)
        server.set_server_name(f"Poreline line {self.service.line_id}")
        server.allow_remote_admin(False)
        pair = settings.certificate
        await server.set_application_uri(application_uri_of(pair.certificate_der) or APPLICATION_URI)
        await server.load_certificate(pair.certificate_der, format="der")
        await server.load_private_key(pair.private_key_pem, format="pem")
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
                                   permission_ruleset=SessionRules())
        server.set_identity_tokens([ua.UserNameIdentityToken])
        trust_dir = settings.trust_dir
        if trust_dir is None:
            return

        async def validate(certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
            try:
                await trusted_by_directory(certificate, app.ApplicationUri or "", trust_dir, peer_is_server=False)
            except CertificateError as error:
                log.warning("OPC UA client certificate of %s refused: %s", certificate.subject.rfc4514_string(), error)
                raise ua.uaerrors.BadCertificateUntrusted from None

        server.set_certificate_validator(validate)

    # ------------------------------------------------------------------ methods
    def _link_methods(self, server: Server, nodes: packml.UnitNodes) -> None:
        def command(name: str) -> MethodCallback:
            async def call(parent: ua.NodeId, *args: Any) -> Any:
                return await self._command(name)
            return call

        links: list[tuple[Any, MethodCallback]] = [
            (nodes.base.methods["Abort"], command("abort")), (nodes.base.methods["Clear"], command("clear")),
            (nodes.machine.methods["Stop"], command("stop")), (nodes.machine.methods["Reset"], command("reset")),
            (nodes.execute.methods["Reset"], command("reset")), (nodes.execute.methods["Hold"], command("hold")),
            (nodes.execute.methods["Unhold"], command("unhold")),
            (nodes.execute.methods["Suspend"], command("suspend")),
            (nodes.execute.methods["Unsuspend"], command("unsuspend")),
            (nodes.execute.methods["Start"], self._start),
            (nodes.execute.methods["ToComplete"], self._not_supported),
            (nodes.unit_methods["SetUnitMode"], self._set_unit_mode),
            (nodes.unit_methods["SetParameter"], self._set_parameter),
        ]
        links += [(nodes.unit_methods[name], self._not_supported)
                  for name in ("SetMachSpeed", "SetProduct", "RemoteCommand", "SetInterlock")
                  if name in nodes.unit_methods]
        for node, callback in links:
            server.link_method(node, callback)

    async def _on_runtime(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` (the runtime's command path) on the runtime's loop; await it here."""
        assert self._runtime_loop is not None
        return await call_in(self._runtime_loop, coroutine)

    async def _state_now(self) -> UnitState:
        return self._current_state()

    def _caller(self, role: str) -> Account | ua.StatusCode:
        account = current_caller(self._users)
        if account is None or not account.may(role):
            name = account.username if account is not None else "?"
            log.warning("OPC UA: %s refused to %s (role %s needed)", name, "call", role)
            return _status("BadUserAccessDenied")
        return account

    def _writer(self) -> tuple[str, bool] | None:
        """The session's user and whether its role may write a loop (engineer and above)."""
        account = current_caller(self._users)
        return None if account is None else (account.username, account.may("engineer"))

    async def _set_loop_field(self, loop: str, field: str, value: Any, user: str) -> int | None:
        """A loop's Mode, SetValue or Output written by ``user``: the runtime's faceplate path."""
        async def on_runtime() -> int | None:
            engine = self.service.line.engine
            if loop not in engine.loops:
                return 404
            try:
                action = action_of(field, loop, engine.loops[loop].mode, value)
                await self.service.set_loop(action, user, VIA)
            except ValueError as exc:  # not a mode, not a number
                log.info("OPC UA write of %s.%s by %s refused: %s", loop, field, user, exc)
                return 422
            except ServiceError as exc:
                log.info("OPC UA write of %s.%s by %s refused: %s", loop, field, user, exc.detail)
                return exc.status
            return None
        return await self._on_runtime(on_runtime())

    async def _answer(self, what: str, user: str, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a command path of the runtime: no output arguments when done, else its refusal as
        a Bad status (logged)."""
        try:
            await self._on_runtime(coroutine)
        except ServiceError as exc:
            log.info("OPC UA %s by %s refused: %s", what, user, exc.detail)
            return _status(_HTTP_TO_STATUS.get(exc.status, "BadInvalidState"))
        return []

    async def _command(self, name: str) -> Any:
        caller = self._caller("operator")
        if isinstance(caller, ua.StatusCode):
            return caller
        return await self._answer(name, caller.username, self.service.command(name, caller.username, VIA))

    async def _start(self, parent: ua.NodeId, *args: Any) -> Any:
        caller = self._caller("operator")
        if isinstance(caller, ua.StatusCode):
            return caller
        if any(_variant_value(a) for a in args):
            log.info("OPC UA start by %s refused: Start takes no parameters (select a released version)",
                     caller.username)
            return _status("BadInvalidArgument")
        state = await self._on_runtime(self._state_now())
        if state is not UnitState.IDLE:
            log.info("OPC UA start by %s refused: the line is %s, not Idle", caller.username, state)
            return _status("BadInvalidState")
        selection = self._selection
        if selection is None:
            log.info("OPC UA start by %s refused: no recipe selected (SelectRecipe)", caller.username)
            return _status("BadInvalidState")
        try:
            prepared = await asyncio.to_thread(self._recipes.prepare, selection.recipe_id, selection.version,
                                               caller.role, selection, selection.adjusted_values())
            await self._on_runtime(self.service.start_run(
                prepared.document, caller.username, VIA, {"recipe_state": prepared.state, "via": "opcua"},
                released_for_line=prepared.released_for_line,
                adjustments=[a.as_record() for a in prepared.adjustments]))
        except RecipeRefused as exc:
            log.info("OPC UA start by %s refused: %s", caller.username, exc.message)
            return _status(exc.status)
        except ServiceError as exc:
            log.info("OPC UA start by %s refused: %s", caller.username, exc.detail)
            return _status(_HTTP_TO_STATUS.get(exc.status, "BadInvalidState"))
        self._selection = prepared
        return []

    async def _select_recipe(self, parent: ua.NodeId, recipe_id: Any = None, version: Any = None) -> Any:
        caller = self._caller("operator")
        if isinstance(caller, ua.StatusCode):
            return caller
        recipe = _variant_value(recipe_id)
        number = _variant_value(version)
        if not isinstance(recipe, str) or not recipe or not isinstance(number, int) or number < 0:
            return _status("BadInvalidArgument")
        try:
            prepared = await asyncio.to_thread(self._recipes.prepare, recipe, number, caller.role, None)
        except RecipeRefused as exc:
            log.info("OPC UA SelectRecipe %s v%s by %s refused: %s", recipe, number, caller.username, exc.message)
            return _status(exc.status)
        self._select(prepared, caller.username, "run.recipe_selected", {"recipe_state": prepared.state})
        return [ua.Variant(prepared.version, ua.VariantType.UInt32)]

    async def _set_parameter(self, parent: ua.NodeId, parameters: Any = None) -> Any:
        """SetParameter: the selection's control-recipe adjustments (see the module's docstring)."""
        caller = self._caller("engineer")
        if isinstance(caller, ua.StatusCode):
            return caller
        selection = self._selection
        descriptors = _variant_value(parameters)
        descriptors = [] if descriptors is None else descriptors
        if not isinstance(descriptors, list) or not all(isinstance(d, ua.PackMLDescriptorDataType)
                                                        for d in descriptors):
            return _status("BadInvalidArgument")
        if selection is None:
            log.info("OPC UA SetParameter by %s refused: no recipe selected (SelectRecipe)", caller.username)
            return _status("BadInvalidState")
        state = await self._on_runtime(self._state_now())
        if state not in MODE_CHANGE_STATES:
            log.info("OPC UA SetParameter by %s refused: a run executes (%s)", caller.username, state)
            return _status("BadInvalidState")
        units = {name: unit for name, _value, unit in selection.parameters}
        wanted = selection.adjusted_values() if descriptors else {}
        for descriptor in descriptors:
            name, unit = str(descriptor.Name), units.get(str(descriptor.Name))
            given = descriptor.Unit.UnitId if descriptor.Unit is not None else 0
            if unit is None or (given not in (0, -1) and given != eu_information(unit).UnitId):
                log.info("OPC UA SetParameter by %s refused: %s is no formula parameter or not in %s", caller.username,
                         name, unit)
                return _status("BadInvalidArgument")
            # Value is a Float (single precision): 2.2 arrives as 2.2000000477; its 7 significant digits are the value
            wanted[name] = float(f"{float(descriptor.Value):.7g}")
        try:
            prepared = await asyncio.to_thread(self._recipes.prepare, selection.recipe_id, selection.version,
                                               caller.role, selection, wanted)
        except RecipeRefused as exc:
            log.info("OPC UA SetParameter by %s refused: %s", caller.username, exc.message)
            return _status(exc.status)
        self._select(prepared, caller.username, "run.parameters_adjusted",
                     {"adjustments": [a.as_record() for a in prepared.adjustments]})
        return []

    def _select(self, prepared: PreparedRecipe, user: str, action: str, details: dict[str, Any]) -> None:
        """``prepared`` becomes the selection the next Start runs: audited by the runtime's
        historian (on the runtime's loop) and shown in Status.Product and Parameter."""
        self._selection = prepared
        assert self._runtime_loop is not None  # the historian writer is the runtime's
        self._runtime_loop.call_soon_threadsafe(
            self.service.writer.audit, user, action, f"recipe {prepared.recipe_id} v{prepared.version}",
            {"line_id": self.service.line_id, "via": "opcua", **details})
        self._show_selection(prepared)
        self._wake.set()

    async def _set_unit_mode(self, parent: ua.NodeId, mode: Any = None) -> Any:
        """SetUnitMode(1 Production, 2 Maintenance, 3 Manual): the runtime's mode change (engineer,
        as ``POST /line/mode``), where no run executes."""
        caller = self._caller("engineer")
        if isinstance(caller, ua.StatusCode):
            return caller
        try:
            name = UnitMode(_variant_value(mode)).name
        except ValueError:
            return _status("BadInvalidArgument")
        return await self._answer(f"SetUnitMode({name})", caller.username,
                                  self.service.set_unit_mode(name, caller.username, VIA))

    async def _not_supported(self, parent: ua.NodeId, *args: Any) -> Any:
        caller = self._caller("operator")
        return caller if isinstance(caller, ua.StatusCode) else _status("BadNotSupported")

    # ------------------------------------------------------------------ constants
    async def _write_constants(self, server: Server, nodes: packml.UnitNodes) -> None:
        unit = nodes.unit
        select = await unit.add_method(
            ua.NodeId(f"{self.service.line_id}.SelectRecipe", nodes.namespace_index),
            ua.QualifiedName("SelectRecipe", nodes.namespace_index), self._select_recipe,
            [_argument("RecipeId", ua.VariantType.String, "the recipe's id"),
             _argument("Version", ua.VariantType.UInt32, "its version; 0: the newest released for production")],
            [_argument("Version", ua.VariantType.UInt32, "the version selected")])
        nodes.unit_methods["SelectRecipe"] = select
        for name in ("EquipmentBlocked", "EquipmentStarved"):  # never known (see the module's docstring)
            self._put(nodes.status[name], False, ua.VariantType.Boolean)
        self._put(nodes.admin["AlarmHistory"], [], ua.VariantType.ExtensionObject)
        self._put(nodes.admin["AlarmHistoryExtent"], HISTORY_LENGTH, ua.VariantType.Int32)
        for machine in (nodes.base, nodes.machine, nodes.execute):
            await server.write_attribute_value(
                (await machine.node.get_child(ua.QualifiedName("AvailableStates", 0))).nodeid,
                ua.DataValue(ua.Variant(list(machine.states.values()), ua.VariantType.NodeId)))
        speed = self._speed_tag()
        if speed is not None:
            tag = self._tag_of(speed)
            if tag is not None:
                eu = ua.Range(Low=tag.low, High=tag.high)
                for name in ("CurMachSpeed", "MachSpeed"):
                    variable = server.get_node(nodes.status[name])
                    await server.write_attribute_value(
                        (await variable.get_child(ua.QualifiedName("EURange", 0))).nodeid,
                        ua.DataValue(ua.Variant(eu, ua.VariantType.ExtensionObject)))
                self._put(nodes.admin["MachDesignSpeed"], float(tag.high), ua.VariantType.Float)
        await self._flush(server)

    def _speed_tag(self) -> str | None:
        return self.service.kind.machine_speed_tag or None

    def _tag_of(self, address: str) -> Any:
        device, _, name = address.partition(".")
        definition = self.service.kind.definition(self.service.line_id)
        try:
            profile = definition.device(device).profile
        except KeyError:
            return None
        return next((t for t in profile.tags if t.name == name), None)

    # ------------------------------------------------------------------ values, every scan
    def _on_scan(self, service: LineService) -> None:
        if self._closed or self.nodes is None:
            return
        try:
            self._collect(self.nodes)
        except Exception:  # publishing never breaks the scan loop
            log.exception("OPC UA: values not collected")
        with self._lock:
            changed = bool(self._pending)
        if changed:
            try:
                self._thread.loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the server's loop is closing
                pass

    def _current_state(self) -> UnitState:
        return UnitState(self.service.status()["state"])

    def _collect(self, nodes: packml.UnitNodes) -> None:
        engine = self.service.line.engine
        if self._counter.update(engine):  # a new engine: its alarm journal starts afresh
            self._journal.restart()
            self._alarm_key = None
        state = self._current_state()
        self._publish_state(nodes, state, engine)
        image, quality, derived = engine.image, engine.quality, engine.derived_addresses
        for tag in (*nodes.tags, *self._companion):
            value = image.get(tag.address)
            if value is None:
                continue
            good = quality.get(tag.address.partition(".")[0]) is Quality.GOOD or tag.address in derived
            self._put(tag.node_id, bool(value >= 0.5) if tag.boolean else float(value),
                      ua.VariantType.Boolean if tag.boolean else ua.VariantType.Double,
                      None if good else "UncertainLastUsableValue",
                      deadband=tag.deadband(self.settings.deadband_fraction, value))
        speed = self._speed_tag()
        if speed is not None and speed in image:
            self._put(nodes.status["CurMachSpeed"], float(image[speed]), ua.VariantType.Float)
        plates = {plate.loop: plate for plate in engine.faceplates()} if nodes.loops else {}
        for variables in nodes.loops:
            plate = plates.get(variables.loop)
            if plate is None:  # the line's control changed under the served unit
                continue
            self._put(variables.mode, plate.mode.value, ua.VariantType.String)
            self._put(variables.setpoint, float(plate.setpoint), ua.VariantType.Double)
            self._put(variables.output, float(plate.output), ua.VariantType.Double)
        self._publish_alarms(nodes, engine)
        self._publish_counts(nodes, engine, state)
        self._put(nodes.status["RunId"], engine.run_id or 0, ua.VariantType.UInt32)

    def _publish_state(self, nodes: packml.UnitNodes, state: UnitState, engine: Engine) -> None:
        for machine, current in zip((nodes.base, nodes.machine, nodes.execute), packml.machine_states(state),
                                    strict=True):
            if current is None:
                self._put(machine.current, ua.LocalizedText(""), ua.VariantType.LocalizedText, "BadStateNotActive")
                if machine.current_id is not None:
                    self._put(machine.current_id, ua.NodeId(), ua.VariantType.NodeId, "BadStateNotActive")
            else:
                self._put(machine.current, ua.LocalizedText(current, "en"), ua.VariantType.LocalizedText)
                if machine.current_id is not None:
                    self._put(machine.current_id, machine.states.get(current, ua.NodeId()), ua.VariantType.NodeId)
        self._put(nodes.status["StateCurrent"], packml.STATE_NUMBERS[state], ua.VariantType.Int32)
        mode = int(self.service.unit_mode)
        self._put(nodes.status["UnitModeCurrent"], mode, ua.VariantType.Int32)
        self._state_times.update(mode, packml.STATE_NUMBERS[state], engine.clock.now_s())
        self._put(nodes.admin["StateCurrentTime"], self._state_times.current(), ua.VariantType.Int32)
        self._put(nodes.admin["StateCumulativeTime"], self._state_times.cumulative(), ua.VariantType.Int32)
        target = STATE_COMPLETE.get(state)
        self._put(nodes.status["StateChangeInProcess"], target is not None, ua.VariantType.Boolean)
        self._put(nodes.status["StateRequested"], packml.STATE_NUMBERS[target or state], ua.VariantType.Int32)
        entered = _STOP_COMMANDS.get(state)
        if entered is not None and entered != _STOP_COMMANDS.get(self._state) and self._state is not UnitState.CLEARING:
            self._put(nodes.admin["StopReason"], self._reason(engine, state), ua.VariantType.ExtensionObject)
        self._state = state

    def _reason(self, engine: Engine, state: UnitState) -> Any:
        wanted = _STOP_COMMANDS[state]
        for _t_s, command, user, accepted, reason in reversed(engine.command_log):
            if accepted and command == wanted:
                alarm_id = reason.removeprefix("alarm ") if reason.startswith("alarm ") else ""
                priority = engine.alarms.get(alarm_id).definition.priority if alarm_id in engine.alarms else 0
                text = f"{alarm_id}: {engine.alarms.get(alarm_id).definition.message}" if alarm_id in engine.alarms \
                    else f"{command} by {user}" + (f" ({reason})" if reason else "")
                return ua.PackMLAlarmDataType(ID=packml.alarm_number(alarm_id) if alarm_id else 0, Value=0,
                                              Message=text, Category=priority, DateTime=datetime.now(UTC),
                                              AckDateTime=datetime(1601, 1, 1, tzinfo=UTC), Trigger=True)
        return ua.PackMLAlarmDataType(ID=0, Value=0, Message=wanted, Category=0, DateTime=datetime.now(UTC),
                                      AckDateTime=datetime(1601, 1, 1, tzinfo=UTC), Trigger=True)

    def _wall(self, engine: Engine, t_s: float) -> datetime:
        """The wall time of engine time ``t_s`` (the engine's clock runs ``speed`` times wall time)."""
        seconds = (engine.clock.now_s() - t_s) / self.service.config.speed
        return datetime.now(UTC) - timedelta(seconds=max(0.0, seconds))

    def _publish_alarms(self, nodes: packml.UnitNodes, engine: Engine) -> None:
        journal = self._journal
        if journal.follow(engine.alarms.events, lambda t_s: self._wall(engine, t_s)):
            history = [ua.PackMLAlarmDataType(
                ID=packml.alarm_number(a.alarm_id), Value=0, Message=f"{a.alarm_id}: {a.message}",
                Category=a.priority, DateTime=a.raised_at, AckDateTime=a.acknowledged_at, Trigger=False)
                for a in journal.history]
            self._put(nodes.admin["AlarmHistory"], history, ua.VariantType.ExtensionObject)
        shown = engine.alarms.annunciated()
        acked_at = journal.acknowledged_at
        key = tuple((a.definition.alarm_id, a.state.value, a.active, a.raised_t_s,
                     a.definition.alarm_id in acked_at) for a in shown)
        if key == self._alarm_key:
            return
        self._alarm_key = key
        never = datetime(1601, 1, 1, tzinfo=UTC)
        alarms = [ua.PackMLAlarmDataType(
            ID=packml.alarm_number(a.definition.alarm_id), Value=0,
            Message=f"{a.definition.alarm_id}: {a.definition.message}", Category=a.definition.priority,
            DateTime=self._wall(engine, a.raised_t_s), AckDateTime=acked_at.get(a.definition.alarm_id, never),
            Trigger=a.active) for a in shown]
        self._put(nodes.admin["Alarm"], alarms, ua.VariantType.ExtensionObject)
        self._put(nodes.admin["AlarmExtent"], len(alarms), ua.VariantType.Int32)

    def _publish_counts(self, nodes: packml.UnitNodes, engine: Engine, state: UnitState) -> None:
        product = self._counter.current(engine)
        if product is None or not product.label:
            return
        value, unit, label = product.value, product.unit, product.label
        processed = ua.PackMLCountDataType(ID=1, Name=label, Unit=eu_information(unit), Count=int(value),
                                           AccCount=int(self._counter.accumulated + value))
        self._put(nodes.admin["ProdProcessedCount"], [processed], ua.VariantType.ExtensionObject)
        defective_s = sum(d.seconds for d in engine.deviations)
        defective = ua.PackMLCountDataType(ID=2, Name="Production with outputs forced safe",
                                           Unit=eu_information("s"),
                                           Count=int(defective_s), AccCount=int(defective_s))
        self._put(nodes.admin["ProdDefectiveCount"], [defective], ua.VariantType.ExtensionObject)

    def _show_selection(self, prepared: PreparedRecipe) -> None:
        assert self.nodes is not None
        descriptors = [ua.PackMLDescriptorDataType(ID=i + 1, Name=name, Unit=eu_information(unit), Value=value)
                       for i, (name, value, unit) in enumerate(prepared.parameters)]
        product = ua.PackMLProductDataType(ProductID=prepared.version, ProcessVariables=descriptors, Ingredients=[])
        self._put(self.nodes.status["Product"], [product], ua.VariantType.ExtensionObject)
        self._put(self.nodes.status["Parameter"], descriptors, ua.VariantType.ExtensionObject)
        self._put(self.nodes.status["RecipeId"], prepared.recipe_id, ua.VariantType.String)
        self._put(self.nodes.status["RecipeVersion"], prepared.version, ua.VariantType.UInt32)

    # ------------------------------------------------------------------ publishing
    def _put(self, node_id: ua.NodeId, value: Any, vtype: ua.VariantType, status: str | None = None,
             deadband: float = 0.0) -> None:
        """Queue ``value`` for ``node_id`` when it differs from what was last published (a
        number: by more than ``deadband``, or in its status)."""
        key = (value, status)
        with self._lock:
            if not changed(self._published.get(node_id, _MISSING), key, deadband):
                return
            self._published[node_id] = key
            now = datetime.now(UTC)
            self._pending[node_id] = ua.DataValue(ua.Variant(value, vtype), StatusCode=_status(status or "Good"),
                                                  SourceTimestamp=now, ServerTimestamp=now)

    async def _flush(self, server: Server) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for node_id, value in pending.items():
            await server.write_attribute_value(node_id, value)

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            server = self._server
            if server is None:
                return
            started = time.perf_counter()
            try:
                await self._flush(server)
            except Exception:  # the next scan publishes again
                log.exception("OPC UA: publishing failed")
            log.debug("OPC UA: published in %.1f ms", (time.perf_counter() - started) * 1000)


_MISSING = object()


def changed(last: Any, new: tuple[Any, str | None], deadband: float) -> bool:
    """Whether ``new`` (value, status) is to be published after ``last`` (or ``_MISSING``)."""
    if last is _MISSING:
        return True
    if deadband > 0.0 and last[1] == new[1] and isinstance(last[0], float) and isinstance(new[0], float):
        return abs(new[0] - last[0]) >= deadband
    return bool(last != new)


def _variant_value(value: Any) -> Any:
    return value.Value if isinstance(value, ua.Variant) else value


def _argument(name: str, vtype: ua.VariantType, description: str) -> ua.Argument:
    return ua.Argument(Name=name, DataType=ua.NodeId(vtype.value), ValueRank=-1, ArrayDimensions=[],
                       Description=ua.LocalizedText(description))
