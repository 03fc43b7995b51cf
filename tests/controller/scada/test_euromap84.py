"""Plant SCADA finds the foaming line as EUROMAP 84 (OPC 40084) in the runtime's OPC UA
server: an ExtrusionLine under Machinery's Machines folder whose Components are the
extruder, the two melt pumps and the die, each of its OPC 40084 type, carrying the engine's
live values (temperature zones ``TemperatureZone_001...``, melt pressures and temperatures, screw
speed; the throughput once a run computes it) with UNECE units, and following the plant when it changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from asyncua import Client, Node, ua
from paths import RECIPES
from runtime_support import recipe_document, until
from scada_support import CLIENT_URI, scada_client, seed_users, serving

from controller.lines import kind_named
from controller.runtime.service import LineService, RuntimeConfig
from controller.scada import NAMESPACE_URI, OpcUaFacade
from controller.scada.companion import Nodeset, catalogue, import_order
from controller.scada.facade import APPLICATION_URI
from controller.scada.units import unit_id
from drivers.opcua.security import CertificatePair, make_self_signed_certificate

SPEED = 100.0  # simulated seconds per wall second: a barrel zone heats by tens of kelvin in a second
EXTRUSION = "http://opcfoundation.org/UA/PlasticsRubber/Extrusion_v2/"
URIS = {"core": "http://opcfoundation.org/UA/", "machinery": "http://opcfoundation.org/UA/Machinery/",
        "rubber": "http://opcfoundation.org/UA/PlasticsRubber/GeneralTypes/", "general": f"{EXTRUSION}GeneralTypes/",
        "line": f"{EXTRUSION}ExtrusionLine/", "extruder": f"{EXTRUSION}Extruder/", "pump": f"{EXTRUSION}MeltPump/",
        "die": f"{EXTRUSION}Die/", "poreline": NAMESPACE_URI}


@dataclass
class Runtime:
    service: LineService
    facade: OpcUaFacade
    endpoint: str
    client_certificate: CertificatePair


@pytest.fixture
async def foaming(tmp_path: Path, opcua_type_cache: Path) -> AsyncIterator[Runtime]:
    url = f"sqlite:///{tmp_path / 'poreline.db'}"
    await asyncio.to_thread(seed_users, url, {"vic": "viewer"})
    server_pair, client_pair = await asyncio.to_thread(lambda: (
        make_self_signed_certificate(APPLICATION_URI, "Poreline line runtime", server=True),
        make_self_signed_certificate(CLIENT_URI, "Plant SCADA", server=False)))
    service = LineService(RuntimeConfig(database_url=url, state_dir=tmp_path / "runtime", kind="foaming",
                                        speed=SPEED, scan_period_s=1.0, sample_period_s=30.0))
    async with serving(service, server_pair, opcua_type_cache) as (facade, endpoint):
        assert facade.companion_served  # built before the line scanned
        yield Runtime(service, facade, endpoint, client_pair)


class Browser:
    """The address space as a SCADA resolves it: namespace indexes from the NamespaceArray."""

    def __init__(self, client: Client, namespaces: list[str]) -> None:
        self.client = client
        self.ns = {key: namespaces.index(uri) for key, uri in URIS.items()}

    def name(self, text: str) -> ua.QualifiedName:
        """``"extruder:TemperatureZones"`` -> that BrowseName in the Extruder part's namespace."""
        key, _, name = text.partition(":")
        return ua.QualifiedName(name, self.ns[key])

    async def child(self, node: Node, *path: str) -> Node:
        return await node.get_child([self.name(p) for p in path])

    async def children(self, node: Node) -> dict[str, Node]:
        return {(await c.read_browse_name()).to_string(): c for c in await node.get_children()}

    async def type_of(self, node: Node) -> ua.QualifiedName:
        type_id = await node.read_type_definition()
        assert type_id is not None
        return await self.client.get_node(type_id).read_browse_name()


async def test_the_foaming_lines_extrusion_line_browses_with_its_components_and_live_values(foaming: Runtime) -> None:
    engine = foaming.service.line.engine
    client = await scada_client(foaming.endpoint, foaming.client_certificate, "vic")
    async with client:
        scada = Browser(client, await client.get_namespace_array())
        machines = await scada.child(client.nodes.objects, "machinery:Machines")
        line = await scada.child(machines, "poreline:ExtrusionLine")
        assert await scada.type_of(line) == scada.name("line:ExtrusionLine_InterfaceType")

        components = await scada.children(await scada.child(line, "machinery:Components"))
        p = scada.ns["poreline"]
        assert {name: await scada.type_of(node) for name, node in components.items()} == {
            f"{p}:Extruder_001": scada.name("extruder:Extruder_InterfaceType"),
            f"{p}:MeltPump_001": scada.name("pump:MeltPump_InterfaceType"),
            f"{p}:MeltPump_002": scada.name("pump:MeltPump_InterfaceType"),
            f"{p}:Die_001": scada.name("die:Die_InterfaceType"),
        }
        assert set(await scada.children(machines)) >= set(components) | {f"{p}:ExtrusionLine"}  # each a machine
        extruder, pump_1, die = (components[f"{p}:{n}"] for n in ("Extruder_001", "MeltPump_001", "Die_001"))
        assert await (await scada.child(extruder, "general:LineId")).read_value() == foaming.service.line_id

        zone_1 = await scada.child(extruder, "extruder:TemperatureZones", "general:TemperatureZone_001",
                                   "rubber:ActualValue")
        live = {
            "extruder.zone_1_temperature_c": zone_1,
            "extruder.zone_4_temperature_c": await scada.child(
                extruder, "extruder:TemperatureZones", "general:TemperatureZone_004", "rubber:ActualValue"),
            "extruder.screw_speed_rpm": await scada.child(extruder, "extruder:MainDrive", "rubber:Speed",
                                                          "rubber:ActualValue"),
            "extruder.melt_pressure_bar": await scada.child(
                extruder, "extruder:MeltPressureZones", "rubber:MeltPressureZone_001", "rubber:ActualValue"),
            "extruder.melt_temperature_c": await scada.child(
                extruder, "extruder:MeltTemperatureZones", "rubber:MeltTemperatureZone_001", "rubber:ActualValue"),
            "melt_pump_1.outlet_pressure_bar": await scada.child(
                pump_1, "pump:MeltPressures", "rubber:MeltPressure_002", "rubber:ActualValue"),
            "die.zone_2_temperature_c": await scada.child(
                die, "die:TemperatureZones", "general:TemperatureZone_002", "rubber:ActualValue"),
            "die.melt_pressure_bar": await scada.child(
                die, "die:MeltPressures", "rubber:MeltPressure_001", "rubber:ActualValue"),
        }
        throughput = await scada.child(line, "line:ProductionParameters", "line:Throughput")
        assert "melt_pump_1.throughput_kg_h" not in engine.image  # a soft sensor's: computed during a run only
        assert (await (await scada.child(throughput, "core:EngineeringUnits")).read_value()).UnitId == unit_id("E93")
        for address, node in live.items():  # the idle line: values within their deadband of the image
            tag = foaming.service.kind.definition(foaming.service.line_id).tag(address)
            deadband = foaming.facade.settings.deadband_fraction * (tag.high - tag.low)
            value = await node.read_value()
            assert value == pytest.approx(engine.image[address], abs=2 * deadband + 0.5), address
        units = await (await scada.child(zone_1, "core:EngineeringUnits")).read_value()
        assert (units.UnitId, units.DisplayName.Text) == (unit_id("CEL"), "°C")
        assert (await (await scada.child(zone_1, "core:EURange")).read_value()).High == 450.0
        setpoint = await scada.child(extruder, "extruder:TemperatureZones", "general:TemperatureZone_001",
                                     "rubber:SetValue")
        for variable in (setpoint, await scada.child(extruder, "general:LineId")):  # read-only, whatever the spec allows
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await variable.write_value(ua.DataValue(ua.Variant(await variable.read_value())))
            assert refused.value.code in (ua.StatusCodes.BadNotWritable, ua.StatusCodes.BadUserAccessDenied)

        # the plant changes: a run starts and heats the barrel; SCADA sees zone 1 follow
        before = await zone_1.read_value()
        recipe = recipe_document((RECIPES / "foaming-psu-co2-water.yaml").read_text(encoding="utf-8"))
        await foaming.service.start_run(recipe, "tester", "EUROMAP 84 test")
        heated = await until(lambda: _above(zone_1, before + 5.0), 30.0, "zone 1 to heat by 5 K")
        assert heated <= foaming.service.line.engine.image["extruder.zone_1_temperature_c"] + 1.0


def test_a_nodeset_is_loaded_after_the_models_it_requires() -> None:
    definition = kind_named("foaming").definition()
    model = kind_named("foaming").companion_model(definition)
    assert model is not None
    order = [n.model_uri for n in import_order(model.type_uris, catalogue())]
    assert order[:4] == ["http://opcfoundation.org/UA/DI/", URIS["machinery"], URIS["rubber"], URIS["general"]]
    assert set(order[4:]) == {URIS["line"], URIS["extruder"], URIS["pump"], URIS["die"]}
    missing = {"urn:a": Nodeset(Path("a.xml"), "urn:a", ("urn:b",))}
    with pytest.raises(ValueError, match="no vendored nodeset for urn:b"):
        import_order(["urn:a"], missing)
    assert kind_named("casting").companion_model(kind_named("casting").definition()) is None


async def _above(node: Node, threshold: float) -> float | None:
    value = await node.read_value()
    return value if value > threshold else None
