"""Plant SCADA drives the line through the runtime's own OPC UA server (OPC 30050 PackML):
a client logged in as an operator over Basic256Sha256 SignAndEncrypt selects a released
recipe, starts, holds and unholds the run, sees an injected fault's alarm, and watches the
run complete and the line reset; the run's command log names the SCADA user. Viewers
cannot command; anonymous sessions and unsecured channels are refused; wrong passwords lock
the user as the API's do, audited; a command the state does not accept answers a Bad status
and changes nothing. Admin carries the ended alarms and the time per state."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from api_support import short_recipe
from argon2 import PasswordHasher
from asyncua import Client, Node, ua
from asyncua.crypto import uacrypto
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.runtime.service import LineService, RuntimeConfig
from controller.scada import NAMESPACE_URI, FacadeSettings, OpcUaFacade, access
from controller.scada.alarm_history import HISTORY_LENGTH
from controller.scada.facade import APPLICATION_URI
from controller.scada.units import eu_information
from controller.store import create_engine_for, load_batch_record, recipes, upgrade
from controller.store.lockout import LockoutPolicy
from controller.store.models import AuditEntry, User
from controller.store.users import add_user
from drivers.opcua.security import CertificatePair, make_self_signed_certificate

PASSWORD = "scada-password-long"
RECIPE_ID = "psf-microfilter-example-viii"
CLIENT_URI = "urn:poreline:tests:scada-client"
SPEED = 100.0  # simulated seconds per wall second: the three-minute recipe runs in seconds
LINE = "casting-1"
EXECUTE = f"{LINE}.BaseStateMachine.MachineState.ExecuteState"
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class Plant:
    url: str
    service: LineService
    facade: OpcUaFacade
    endpoint: str
    client_certificate: CertificatePair


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(url: str) -> None:
    """Users of every role and the short Example VIII recipe released for production."""
    upgrade(url)
    db = create_engine_for(url)
    try:
        with Session(db) as session:
            people = {name: add_user(session, name, _FAST.hash(PASSWORD), role)
                      for name, role in (("olga", "operator"), ("vic", "viewer"), ("erin", "engineer"),
                                         ("emil", "engineer"))}
            recipes.create_version(session, RECIPE_ID, short_recipe(production_min=1), "erin")
            recipes.release_for_testing(session, RECIPE_ID, 1, people["erin"], "tested on the simulator")
            recipes.release_for_production(session, RECIPE_ID, 1, people["emil"], "approved")
            session.commit()
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def certificates() -> tuple[CertificatePair, CertificatePair]:
    """The runtime's and the SCADA client's (RSA keys take a while: made once)."""
    return (make_self_signed_certificate(APPLICATION_URI, "Poreline line runtime", server=True),
            make_self_signed_certificate(CLIENT_URI, "Plant SCADA", server=False))


@pytest.fixture
async def plant(tmp_path: Path, certificates: tuple[CertificatePair, CertificatePair]) -> AsyncIterator[Plant]:
    url = f"sqlite:///{tmp_path / 'poreline.db'}"
    await asyncio.to_thread(_seed, url)
    service = LineService(RuntimeConfig(database_url=url, state_dir=tmp_path / "runtime", kind="casting",
                                        speed=SPEED, scan_period_s=1.0, sample_period_s=30.0))
    endpoint = f"opc.tcp://127.0.0.1:{_free_port()}/poreline/"
    facade = OpcUaFacade(service, FacadeSettings(endpoint, certificates[0], trust_any_client=True))
    await facade.start()  # the address space is built before the line scans
    await service.start()
    try:
        yield Plant(url, service, facade, endpoint, certificates[1])
    finally:
        await facade.stop()
        await service.stop()


async def _client(plant: Plant, user: str | None, *, secure: bool = True) -> Client:
    client = Client(plant.endpoint, timeout=10)
    client.application_uri = CLIENT_URI
    if secure:
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            certificate=uacrypto.CertProperties(plant.client_certificate.certificate_der, extension="der"),
            private_key=uacrypto.CertProperties(plant.client_certificate.private_key_pem, extension="pem"),
            mode=ua.MessageSecurityMode.SignAndEncrypt)
    if user is not None:
        client.set_user(user)
        client.set_password(PASSWORD)
    return client


class Unit:
    """The PackML unit as a SCADA sees it."""

    def __init__(self, client: Client, ns: int) -> None:
        self.client = client
        self.ns = ns

    def node(self, path: str) -> Node:
        return self.client.get_node(ua.NodeId(f"{LINE}.{path}" if path else LINE, self.ns))

    async def read(self, path: str) -> Any:
        return await self.node(path).read_value()

    async def state(self) -> str:
        return (await self.read("BaseStateMachine.MachineState.ExecuteState.CurrentState")).Text

    async def call(self, machine: str, method: str, *args: Any) -> Any:
        parent = self.node(machine)
        return await parent.call_method(ua.NodeId(".".join(p for p in (LINE, machine, method) if p), self.ns), *args)


async def _until(probe: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class StateLog:
    """Every value ExecuteState.CurrentState takes, from a subscription."""

    def __init__(self) -> None:
        self.states: list[str] = []

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        status = data.monitored_item.Value.StatusCode
        self.states.append(value.Text if status is None or status.is_good() else "-")


def _in_order(seen: list[str], expected: list[str]) -> bool:
    remaining = iter(seen)
    return all(any(s == e for s in remaining) for e in expected)


async def test_an_operator_drives_a_casting_run_through_the_packml_methods(plant: Plant) -> None:
    client = await _client(plant, "olga")
    async with client:
        await client.load_data_type_definitions()
        unit = Unit(client, await client.get_namespace_index(NAMESPACE_URI))
        log = StateLog()
        subscription = await client.create_subscription(20, log)
        await subscription.subscribe_data_change(unit.node(f"{EXECUTE[len(LINE) + 1:]}.CurrentState"), queuesize=200)
        assert await _until(lambda: _equals(unit.state(), "Idle"), "Idle")
        assert await unit.read("Status.UnitModeCurrent") == 1  # Production

        assert await unit.call("", "SelectRecipe", ua.Variant(RECIPE_ID, ua.VariantType.String),
                               ua.Variant(0, ua.VariantType.UInt32)) == 1
        assert await unit.read("Status.RecipeId") == RECIPE_ID
        product = (await unit.read("Status.Product"))[0]
        assert product.ProductID == 1
        assert {p.Name for p in product.ProcessVariables} >= {"line_speed", "production_time"}

        machine = EXECUTE[len(LINE) + 1:]
        await unit.call(machine, "Start")
        await _until(lambda: _equals(unit.state(), "Execute"), "Execute after Start")
        assert (await unit.read("BaseStateMachine.MachineState.CurrentState")).Text == "Running"
        assert (await unit.read("BaseStateMachine.CurrentState")).Text == "Cleared"
        await unit.call(machine, "Hold")
        await _until(lambda: _equals(unit.state(), "Held"), "Held after Hold")
        assert "hold by olga" in (await unit.read("Admin.StopReason")).Message
        await unit.call(machine, "Unhold")
        await _until(lambda: _equals(unit.state(), "Execute"), "Execute after Unhold")

        service = plant.service
        await _until(lambda: _now(service.status()["step_name"] == "production"), "the production step")
        await _until(lambda: _processed(unit, at_least=1), "metres cast counted")
        counted = await _processed(unit)

        # a jammed dope pump: its stall interlock holds the run and forces the pump safe
        service.inject_fault("pump", "dope_pump_1", None, "tester")
        alarms = await _until(lambda: _alarms(unit, "DOPE_PUMP_1_STALLED"), "the stall alarm in Admin.Alarm")
        assert alarms[0].Category == 1  # priority
        await _until(lambda: _equals(unit.state(), "Held"), "Held by the interlock")
        assert (await unit.read("Admin.StopReason")).Message.startswith("DOPE_PUMP_1_STALLED")
        # held by a fault of its own equipment: neither starved of supply nor blocked downstream
        assert await unit.read("Status.EquipmentStarved") is False
        assert await unit.read("Status.EquipmentBlocked") is False
        assert await unit.read("Admin.AlarmHistory") == []  # the alarm has not ended
        service.clear_faults("dope_pump_1", None, "tester")
        await _until(lambda: _now(not service.line.engine.alarms.get("DOPE_PUMP_1_STALLED").active), "the condition gone")
        await service.acknowledge("DOPE_PUMP_1_STALLED", "olga")
        await _until(lambda: _acknowledged(unit, "DOPE_PUMP_1_STALLED"), "AckDateTime")
        # cleared and acknowledged: the alarm has ended, into the history
        ended = await _until(lambda: _past(unit, "DOPE_PUMP_1_STALLED"), "the alarm in Admin.AlarmHistory")
        assert ended[0].Category == 1 and ended[0].Trigger is False
        assert ended[0].AckDateTime >= ended[0].DateTime > datetime(2020, 1, 1, tzinfo=UTC)
        assert await unit.read("Admin.AlarmHistoryExtent") == HISTORY_LENGTH
        await unit.call(machine, "Unhold")
        await _until(lambda: _equals(unit.state(), "Complete"), "Complete", timeout_s=30.0)

        assert await _processed(unit) > counted
        defective = (await unit.read("Admin.ProdDefectiveCount"))[0]
        assert defective.Count > 0 and defective.Unit.DisplayName.Text == "s"
        run_id = await unit.read("Status.RunId")
        cumulative = (await unit.read("Admin.StateCumulativeTime"))[1]  # [unit mode 1: Production][state number]
        assert cumulative[6] >= 60  # Execute: the one-minute production step and more
        assert cumulative[11] >= 1  # Held: twice, a scan at least each time
        await unit.call("BaseStateMachine.MachineState", "Reset")
        await _until(lambda: _equals(unit.state(), "Idle"), "Idle after Reset")
        idle_s = (await unit.read("Admin.StateCurrentTime"))[1][4]
        await _until(lambda: _state_time(unit, 4, above=idle_s), "the time in Idle growing")
        # Complete, left after its one stay: that stay's time, which is all its time
        assert (await unit.read("Admin.StateCurrentTime"))[1][17] == (await unit.read("Admin.StateCumulativeTime"))[1][17]
        await asyncio.sleep(0.2)  # the last notifications
        # acting states the engine completes within one scan (Holding, Unholding, Completing,
        # Resetting) are never a scan's state; Starting lasts while the run's record opens
        assert _in_order(log.states, ["Idle", "Starting", "Execute", "Held", "Execute", "Held", "Execute", "Complete",
                                      "Idle"]), log.states

    assert await asyncio.to_thread(service.writer.wait_idle, 10.0)
    db = create_engine_for(plant.url)
    try:
        record = load_batch_record(db, run_id)
    finally:
        db.dispose()
    commands = [(c.command, c.user, c.reason) for c in record.commands if c.accepted]
    assert ("start", "olga", "via OPC UA") in commands
    assert ("hold", "olga", "via OPC UA") in commands
    assert [c for c in commands if c[0] == "unhold"] == [("unhold", "olga", "via OPC UA")] * 2
    assert record.deviations and record.deviations[0].alarm_ids == ["DOPE_PUMP_1_STALLED"]


async def test_only_authenticated_operators_command_and_a_refused_command_changes_nothing(
        plant: Plant, monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = await _client(plant, "vic")
    async with viewer:
        unit = Unit(viewer, await viewer.get_namespace_index(NAMESPACE_URI))
        await _until(lambda: _equals(unit.state(), "Idle"), "Idle")
        for method in ("Start", "Hold", "Reset"):
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await unit.call(EXECUTE[len(LINE) + 1:], method)
            assert refused.value.code == ua.StatusCodes.BadUserAccessDenied
        tag = unit.node("Tags.support_belt.Drive.Speed.ActualValue")
        assert isinstance(await tag.read_value(), float)  # a viewer reads
        units = await unit.node("Tags.support_belt.Drive.Speed.ActualValue.EngineeringUnits").read_value()
        assert units.UnitId == 0x3258 and units.DisplayName.Text == "m/min"  # UN/CEFACT 2X
        with pytest.raises(ua.UaStatusCodeError):  # read-only
            await tag.write_value(ua.DataValue(ua.Variant(3.0, ua.VariantType.Double)))

    operator = await _client(plant, "olga")
    async with operator:
        unit = Unit(operator, await operator.get_namespace_index(NAMESPACE_URI))
        machine = EXECUTE[len(LINE) + 1:]
        for method, status in (("Unhold", ua.StatusCodes.BadInvalidState), ("Reset", ua.StatusCodes.BadInvalidState),
                               ("Start", ua.StatusCodes.BadInvalidState),  # nothing selected
                               ("ToComplete", ua.StatusCodes.BadNotSupported)):
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await unit.call(machine, method)
            assert refused.value.code == status, method
        with pytest.raises(ua.UaStatusCodeError) as unknown:
            await unit.call("", "SelectRecipe", ua.Variant("no-such-recipe", ua.VariantType.String),
                            ua.Variant(0, ua.VariantType.UInt32))
        assert unknown.value.code == ua.StatusCodes.BadNotFound
        await asyncio.sleep(0.1)
        assert await unit.state() == "Idle"
        assert plant.service.status()["state"] == "Idle" and plant.service.status()["run_id"] is None

    anonymous = await _client(plant, None)
    with pytest.raises(ua.UaStatusCodeError) as refused:
        await anonymous.connect()
    assert refused.value.code == ua.StatusCodes.BadIdentityTokenRejected
    await anonymous.disconnect()

    # SecurityPolicy None: asyncua's client would not even try (no such endpoint); a client
    # that insists gets its channel (discovery needs one) but no session, whatever its password
    with monkeypatch.context() as patch:
        patch.setattr(Client, "find_endpoint", staticmethod(lambda endpoints, mode, uri: endpoints[0]))
        unsecured = await _client(plant, "olga", secure=False)
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await unsecured.connect()
        assert refused.value.code == ua.StatusCodes.BadUserAccessDenied
        await unsecured.disconnect()
    # wrong passwords count toward the store's lockout, as the API's logins do: the fifth locks
    # the user, who then opens no session even with the right password; each is audited
    monkeypatch.setattr(access, "MAX_VERIFICATIONS", 100)  # these logins are not the burst the limit is for
    for _ in range(LockoutPolicy().max_failures):
        wrong = await _client(plant, "olga")
        wrong.set_password("not-the-password")
        with pytest.raises(ua.UaStatusCodeError):
            await wrong.connect()
        await wrong.disconnect()
    right = await _client(plant, "olga")
    with pytest.raises(ua.UaStatusCodeError) as refused:
        await right.connect()
    assert refused.value.code == ua.StatusCodes.BadUserAccessDenied
    await right.disconnect()
    failed, locked, locked_until = await asyncio.to_thread(_logins_of, plant.url, "olga")
    assert failed == [("not over a secured channel", None), *[("wrong password", n) for n in range(1, 6)],
                      ("account locked", None)]
    assert locked == [5]
    assert locked_until is not None  # in the store: the API refuses the user too


def _logins_of(url: str, username: str) -> tuple[list[tuple[str, Any]], list[int], datetime | None]:
    """The refused OPC UA logins of ``username`` in the audit trail (reason, count), the
    counts that locked the user, and the user's lock in the store."""
    db = create_engine_for(url)
    try:
        with Session(db) as session:
            entries = session.execute(select(AuditEntry).where(AuditEntry.subject == f"user {username}")
                                      .order_by(AuditEntry.id)).scalars().all()
            user = session.execute(select(User).where(User.username == username)).scalar_one()
            return ([(e.details["reason"], e.details.get("failed_logins")) for e in entries
                     if e.action == "auth.login_failed" and e.details.get("via") == "opcua"],
                    [e.details["failed_logins"] for e in entries if e.action == "auth.locked"], user.locked_until)
    finally:
        db.dispose()


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected


async def _now(value: bool) -> bool:
    return value


async def _processed(unit: Unit, at_least: int | None = None) -> Any:
    counts = await unit.read("Admin.ProdProcessedCount")
    count = counts[0].Count if counts else 0
    return count >= at_least if at_least is not None else count


async def _alarms(unit: Unit, alarm_id: str) -> list[Any]:
    return [a for a in await unit.read("Admin.Alarm") or [] if a.Message.startswith(f"{alarm_id}:")]


async def _past(unit: Unit, alarm_id: str) -> list[Any]:
    return [a for a in await unit.read("Admin.AlarmHistory") or [] if a.Message.startswith(f"{alarm_id}:")]


async def _state_time(unit: Unit, state_number: int, above: int) -> bool:
    return bool((await unit.read("Admin.StateCurrentTime"))[1][state_number] > above)


async def _acknowledged(unit: Unit, alarm_id: str) -> bool:
    alarms = await _alarms(unit, alarm_id)
    return not alarms or alarms[0].AckDateTime.year > 2000


async def _audited(url: str, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    def read() -> list[tuple[str, str, dict[str, Any]]]:
        db = create_engine_for(url)
        try:
            with Session(db) as session:
                return [(e.actor, e.subject, e.details) for e in
                        session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]
        finally:
            db.dispose()
    return await asyncio.to_thread(read)


async def test_an_engineer_writes_a_loops_faceplate_and_each_refused_write_answers_its_own_bad_status(
        plant: Plant) -> None:
    loop = "Loops.quench_bath_temperature"
    engineer = await _client(plant, "erin")
    async with engineer:
        unit = Unit(engineer, await engineer.get_namespace_index(NAMESPACE_URI))
        mode, setpoint, output = (unit.node(f"{loop}.{name}") for name in ("Mode", "SetValue", "Output"))
        assert await mode.read_value() == "off"
        assert await unit.node(f"{loop}.Measurement").read_value() == "quench_bath.temperature_c"
        limits = await unit.node(f"{loop}.SetValue.EURange").read_value()
        assert (limits.Low, limits.High) == (0.0, 100.0)

        # one request, three writes: the good ones apply, the refused one answers its own status
        statuses = await engineer.write_values(
            [mode, setpoint, output],
            [ua.Variant("auto", ua.VariantType.String), ua.Variant(500.0, ua.VariantType.Double),
             ua.Variant(250.0, ua.VariantType.Double)], raise_on_partial_error=False)
        assert [s.value for s in statuses] == [ua.StatusCodes.Good, ua.StatusCodes.BadOutOfRange,
                                               ua.StatusCodes.BadOutOfRange]
        plate = plant.service.line.engine.faceplate("quench_bath_temperature")
        assert plate.mode.value == "auto" and plate.setpoint != 500.0  # the refused setpoint changed nothing
        await _until(lambda: _equals(setpoint.read_value(), plate.setpoint), "the setpoint as the engine has it")

        await setpoint.write_value(ua.DataValue(ua.Variant(35.0, ua.VariantType.Double)))
        await output.write_value(ua.DataValue(ua.Variant(12.5, ua.VariantType.Double)))
        plate = plant.service.line.engine.faceplate("quench_bath_temperature")
        assert (plate.mode.value, plate.setpoint, plate.output) == ("manual", 35.0, 12.5)
        await _until(lambda: _equals(mode.read_value(), "manual"), "the mode published")
        with pytest.raises(ua.UaStatusCodeError) as wrong:
            await mode.write_value(ua.DataValue(ua.Variant("cascade", ua.VariantType.String)))
        assert wrong.value.code == ua.StatusCodes.BadOutOfRange
        with pytest.raises(ua.UaStatusCodeError) as mistyped:  # refused before anything is applied
            await setpoint.write_value(ua.DataValue(ua.Variant(20, ua.VariantType.Int32)))
        assert mistyped.value.code == ua.StatusCodes.BadTypeMismatch
        assert plant.service.line.engine.faceplate("quench_bath_temperature").setpoint == 35.0

    operator = await _client(plant, "olga")
    async with operator:
        unit = Unit(operator, await operator.get_namespace_index(NAMESPACE_URI))
        with pytest.raises(ua.UaStatusCodeError) as denied:
            await unit.node(f"{loop}.Mode").write_value(ua.DataValue(ua.Variant("off", ua.VariantType.String)))
        assert denied.value.code == ua.StatusCodes.BadUserAccessDenied
    assert plant.service.line.engine.faceplate("quench_bath_temperature").mode.value == "manual"

    assert await asyncio.to_thread(plant.service.writer.wait_idle, 10.0)  # the historian wrote the audit
    audit = [(actor, subject, details["mode"], details["setpoint"], details["output"], details["reason"])
             for actor, subject, details in await _audited(plant.url, "loop.set")]
    subject = "loop quench_bath_temperature"
    assert audit == [("erin", subject, "auto", None, None, "via OPC UA"),  # refused writes are not audited
                     ("erin", subject, "auto", 35.0, None, "via OPC UA"),
                     ("erin", subject, "manual", None, 12.5, "via OPC UA")]


async def test_an_engineer_sets_the_unit_mode_and_no_run_starts_outside_production(plant: Plant) -> None:
    operator = await _client(plant, "olga")
    async with operator:
        unit = Unit(operator, await operator.get_namespace_index(NAMESPACE_URI))
        await _until(lambda: _equals(unit.state(), "Idle"), "Idle")
        with pytest.raises(ua.UaStatusCodeError) as denied:
            await unit.call("", "SetUnitMode", ua.Variant(2, ua.VariantType.Int32))
        assert denied.value.code == ua.StatusCodes.BadUserAccessDenied  # engineers set the mode

    engineer = await _client(plant, "erin")
    async with engineer:
        unit = Unit(engineer, await engineer.get_namespace_index(NAMESPACE_URI))
        with pytest.raises(ua.UaStatusCodeError) as unknown:
            await unit.call("", "SetUnitMode", ua.Variant(7, ua.VariantType.Int32))
        assert unknown.value.code == ua.StatusCodes.BadInvalidArgument
        await unit.call("", "SetUnitMode", ua.Variant(2, ua.VariantType.Int32))  # Maintenance
        await _until(lambda: _equals(unit.read("Status.UnitModeCurrent"), 2), "UnitModeCurrent 2")
        await _until(lambda: _maintenance_time(unit, above=0), "time counted in Maintenance, Idle")

        await unit.call("", "SelectRecipe", ua.Variant(RECIPE_ID, ua.VariantType.String),
                        ua.Variant(0, ua.VariantType.UInt32))
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await unit.call(EXECUTE[len(LINE) + 1:], "Start")
        assert refused.value.code == ua.StatusCodes.BadInvalidState
        assert plant.service.status()["run_id"] is None and await unit.state() == "Idle"

        await unit.call("", "SetUnitMode", ua.Variant(1, ua.VariantType.Int32))  # Production again
        await unit.call(EXECUTE[len(LINE) + 1:], "Start")
        await _until(lambda: _equals(unit.state(), "Execute"), "Execute after Start in Production")
        with pytest.raises(ua.UaStatusCodeError) as running:
            await unit.call("", "SetUnitMode", ua.Variant(3, ua.VariantType.Int32))
        assert running.value.code == ua.StatusCodes.BadInvalidState  # not while a run executes
        assert await unit.read("Status.UnitModeCurrent") == 1

    assert await asyncio.to_thread(plant.service.writer.wait_idle, 10.0)  # the historian wrote the audit
    audit = [(actor, details["to"], details["reason"]) for actor, _, details in
             await _audited(plant.url, "line.unit_mode")]
    assert audit == [("erin", "Maintenance", "via OPC UA"), ("erin", "Production", "via OPC UA")]


async def _maintenance_time(unit: Unit, above: int) -> bool:
    return bool((await unit.read("Admin.StateCurrentTime"))[2][4] > above)  # [Maintenance][Idle]


def _descriptor(name: str, value: float, unit_id: int = 0) -> ua.PackMLDescriptorDataType:
    return ua.PackMLDescriptorDataType(ID=0, Name=name, Unit=ua.EUInformation(UnitId=unit_id), Value=value)


async def _parameters(unit: Unit) -> dict[str, float]:
    return {p.Name: p.Value for p in await unit.read("Status.Parameter")}


async def _shows(unit: Unit, **expected: float) -> bool:
    shown = await _parameters(unit)
    return all(shown.get(name) == pytest.approx(value) for name, value in expected.items())


async def test_an_engineer_adjusts_the_formula_with_set_parameter_and_the_run_records_both_values(
        plant: Plant) -> None:
    operator = await _client(plant, "olga")
    async with operator:
        await operator.load_data_type_definitions()
        unit = Unit(operator, await operator.get_namespace_index(NAMESPACE_URI))
        await _until(lambda: _equals(unit.state(), "Idle"), "Idle")
        await unit.call("", "SelectRecipe", ua.Variant(RECIPE_ID, ua.VariantType.String),
                        ua.Variant(0, ua.VariantType.UInt32))
        with pytest.raises(ua.UaStatusCodeError) as denied:
            await unit.call("", "SetParameter", ua.Variant([_descriptor("line_speed", 2.2)],
                                                           ua.VariantType.ExtensionObject))
        assert denied.value.code == ua.StatusCodes.BadUserAccessDenied  # engineers adjust the formula

    engineer = await _client(plant, "erin")
    async with engineer:
        await engineer.load_data_type_definitions()
        unit = Unit(engineer, await engineer.get_namespace_index(NAMESPACE_URI))

        async def set_parameter(*descriptors: ua.PackMLDescriptorDataType) -> None:
            await unit.call("", "SetParameter", ua.Variant(list(descriptors), ua.VariantType.ExtensionObject))

        refused = [([_descriptor("line_speed", 6.0)], ua.StatusCodes.BadOutOfRange),  # limits 0.5..5 m/min
                   ([_descriptor("line_speed", 2.5)], ua.StatusCodes.BadInvalidArgument),  # the knife rule refuses it
                   ([_descriptor("production_time", 120.0)], ua.StatusCodes.BadInvalidArgument),  # fixed
                   ([_descriptor("no_such", 1.0)], ua.StatusCodes.BadInvalidArgument),
                   ([_descriptor("line_speed", 2.2, unit_id=eu_information("degC").UnitId)],
                    ua.StatusCodes.BadInvalidArgument)]  # another unit
        for descriptors, code in refused:
            with pytest.raises(ua.UaStatusCodeError) as answer:
                await set_parameter(*descriptors)
            assert answer.value.code == code, descriptors
        assert (await _parameters(unit))["line_speed"] == 2.0  # nothing changed

        await set_parameter(_descriptor("line_speed", 2.2))
        await _until(lambda: _shows(unit, line_speed=2.2), "Status.Parameter adjusted")
        assert (await _parameters(unit))["layer_1_flow"] == pytest.approx(167.64)  # follows the belt
        await set_parameter(_descriptor("dope_temperature", 41.0))  # adds to the adjustment
        await _until(lambda: _shows(unit, line_speed=2.2, dope_temperature=41.0), "both adjustments shown")
        await set_parameter()  # an empty array drops them
        await _until(lambda: _shows(unit, line_speed=2.0, dope_temperature=40.0), "the master's values again")
        await set_parameter(_descriptor("line_speed", 2.2))

        await unit.call(EXECUTE[len(LINE) + 1:], "Start")
        await _until(lambda: _equals(unit.state(), "Execute"), "Execute after Start")
        with pytest.raises(ua.UaStatusCodeError) as running:
            await set_parameter(_descriptor("line_speed", 2.1))
        assert running.value.code == ua.StatusCodes.BadInvalidState  # a run's formula never changes under it
        run_id = plant.service.status()["run_id"]
        await unit.call("BaseStateMachine.MachineState", "Stop")

    def recorded() -> dict[str, Any]:
        db = create_engine_for(plant.url)
        try:
            with Session(db) as session:
                return load_batch_record(session, run_id).run.parameters
        finally:
            db.dispose()

    parameters = await asyncio.to_thread(recorded)
    assert parameters["line_speed"] == {"value": 2.2, "unit": "m/min", "master_value": 2.0}
    assert "master_value" not in parameters["dope_temperature"]
    assert await asyncio.to_thread(plant.service.writer.wait_idle, 10.0)  # the historian wrote the audit
    adjusted = [(actor, [a["name"] for a in details["adjustments"]])
                for actor, _, details in await _audited(plant.url, "run.parameters_adjusted")]
    assert adjusted == [("erin", ["line_speed"]), ("erin", ["line_speed", "dope_temperature"]), ("erin", []),
                        ("erin", ["line_speed"])]
    starts = [(actor, details.get("adjustments")) for actor, _, details in await _audited(plant.url, "run.start")]
    assert starts == [("erin", [{"name": "line_speed", "value": 2.2, "unit": "m/min", "master_value": 2.0}])]
