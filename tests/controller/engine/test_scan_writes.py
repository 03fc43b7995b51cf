"""Write on change: an output goes out once when it changes, never again while it stays the
same; a write the transport refuses is retried on the next scan."""

from controller.engine.states import Command
from controller.recipe.model import SetAction

PUMP_SPEED = "pump.speed_setpoint_rpm"
HEATER = "tank.heater_output_pct"


async def test_the_first_scan_adopts_the_plants_outputs_and_writes_nothing(rig):
    rig.transport.set(HEATER, 35.0)  # left on by whoever ran the line before

    await rig.scan(3)

    assert rig.transport.writes == []
    assert rig.engine.outputs[HEATER] == 35.0


async def test_an_output_is_written_once_when_it_changes_and_not_again_while_unchanged(rig):
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0)))
    await rig.start()
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]

    await rig.scan(10)

    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]


async def test_only_the_tags_that_changed_are_written(rig):
    rig.load(rig.step("heat", SetAction(HEATER, 40.0), until="tank.temperature_c > 30"),
             rig.step("cool", SetAction(HEATER, 10.0)))
    await rig.start()
    rig.transport.clear_log()

    rig.transport.set("tank.temperature_c", 35.0)
    await rig.scan()

    assert rig.transport.writes == [("tank", {"heater_output_pct": 10.0})]  # not the cooling valve


async def test_a_failed_write_is_retried_every_scan_until_it_goes_through(rig):
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0)))
    rig.transport.fail_writes("pump")
    await rig.start()
    await rig.scan(2)

    assert rig.transport.writes == []
    assert rig.transport.refused == [("pump", {"speed_setpoint_rpm": 30.0})] * 3

    rig.transport.restore("pump")
    await rig.scan(3)

    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]
    assert rig.transport.value(PUMP_SPEED) == 30.0


async def test_a_failed_write_to_one_device_does_not_hold_back_another(rig):
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0), SetAction(HEATER, 40.0)))
    rig.transport.fail_writes("pump")

    await rig.start()

    assert rig.transport.writes == [("tank", {"heater_output_pct": 40.0})]
    assert rig.transport.refused == [("pump", {"speed_setpoint_rpm": 30.0})]


async def test_every_scan_writes_the_next_heartbeat_and_a_failed_heartbeat_does_not_stop_the_scan(rig):
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0), until="tank.temperature_c > 30"),
             rig.step("stop", SetAction(PUMP_SPEED, 0.0)))
    await rig.scan(3)
    assert rig.transport.heartbeats == [1, 2, 3]

    rig.transport.fail_writes()  # the whole endpoint refuses writes, heartbeat included
    rig.command(Command.START)
    await rig.scan(3)
    rig.transport.restore()
    await rig.scan()

    assert rig.transport.heartbeats == [1, 2, 3, 7]
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]
