"""The extrusion-foaming line as EUROMAP 84 (OPC 40084 v2.00, ``Extrusion_v2``) for plant SCADA.

One ``ExtrusionLine_InterfaceType`` object for the line with, as its components, every
device whose profile names an OPC 40084 type (``opcua_type``): the extruder
(``Extruder_InterfaceType``), the two melt pumps (``MeltPump_InterfaceType``) and the die
(``Die_InterfaceType``), named ``<type>_<Nr>`` in line order (``Extruder_001``,
``MeltPump_001``, ``MeltPump_002``, ``Die_001``). Each tag's variable is its profile's
``opcua_path`` (written with OPC 40084's names), except where the specification names the
variable otherwise (:data:`RENAMED`) or has none (:data:`UNFIT`); the mapping, tag by tag,
is in ``docs/scada-euromap84.md``.

The CO2 and water metering pumps (OPC 40082-4 dosing, not an OPC 40084 part) and the melt
heat exchanger (no companion type) are not components; their tags are served in the PackML
unit's ``Tags`` only, as are the soft sensors' estimates (foam, gas loading, energy).
"""

from __future__ import annotations

import re

from controller.lines.companion import CompanionComponent, CompanionModel, CompanionValue, Constant
from drivers.definition import LineDefinition

SPECIFICATION = "OPC 40084 (EUROMAP 84) v2.00"
EXTRUSION_URI = "http://opcfoundation.org/UA/PlasticsRubber/Extrusion_v2/"
LINE_TYPE = (f"{EXTRUSION_URI}ExtrusionLine/", "ExtrusionLine_InterfaceType")
# profile opcua_type -> (the namespace of the OPC 40084 part defining it, its DeviceClass)
COMPONENT_TYPES: dict[str, tuple[str, str]] = {
    "Extruder_InterfaceType": (f"{EXTRUSION_URI}Extruder/", "Extruder"),
    "MeltPump_InterfaceType": (f"{EXTRUSION_URI}MeltPump/", "Melt pump"),
    "Die_InterfaceType": (f"{EXTRUSION_URI}Die/", "Die"),
}
# (pattern on a profile's opcua_path, replacement): where OPC 40084 names a variable otherwise
RENAMED: tuple[tuple[str, str], ...] = (
    # ExtrusionTemperatureZoneType's heater output is ControllerOutput (OPC 40084-1)
    (r"^(TemperatureZones/TemperatureZone_\d+)/Output$", r"\1/ControllerOutput"),
    # DriveType's speed is Speed (a MonitoredParameterType); its power is Energy/ActualPower
    (r"^MainDrive/RotationalSpeed/", "MainDrive/Speed/"),
    (r"^MainDrive/Power/ActualValue$", "MainDrive/Energy/ActualPower"),
    # Die_InterfaceType has no melt temperatures: ExtrusionDeviceType's AdditionalMeasuringDevices
    (r"^MeltTemperatures/(MeltTemperature_\d+)/", r"AdditionalMeasuringDevices/\1/"),
    # the die's gap is a measuring device in the DimensionAdjustment container
    (r"^(DimensionAdjustment_\d+)/", r"DimensionAdjustment/\1/"),
)
# drive states: StartDrive/Status is a StartEnumeration (ready, running, blocked ...), which a
# running flag does not determine
UNFIT: tuple[str, ...] = ("MainDrive/Running", "Drive/Running")
GOOD_PRODUCT = "die.foam_in_spec"  # the foam estimate within the recipe's product class


def spec_path(opcua_path: str) -> str | None:
    """A profile's ``opcua_path`` as the OPC 40084 path of its variable; None: none fits."""
    if opcua_path in UNFIT:
        return None
    for pattern, replacement in RENAMED:
        opcua_path = re.sub(pattern, replacement, opcua_path)
    return opcua_path


def euromap84(definition: LineDefinition, throughput_tag: str) -> CompanionModel:
    """The line's mapping; ``throughput_tag``: the polymer throughput (kg/h), the extruder's and the line's."""
    counts: dict[str, int] = {}
    components: list[CompanionComponent] = []
    for device in definition.devices:
        known = COMPONENT_TYPES.get(device.profile.opcua_type)
        if known is None:
            continue
        type_uri, device_class = known
        base = device.profile.opcua_type.removesuffix("_InterfaceType")
        counts[base] = counts.get(base, 0) + 1
        values = [CompanionValue(path, f"{device.name}.{tag.name}") for tag in device.profile.tags
                  if (path := spec_path(tag.opcua_path)) is not None]
        if base == "Extruder":
            values.append(CompanionValue("Throughput/ActualValue", throughput_tag))
        components.append(CompanionComponent(
            f"{base}_{counts[base]:03d}", type_uri, device.profile.opcua_type, tuple(values),
            _identity(definition, device.name, device_class, device.profile.description)))
    line = CompanionComponent(
        "ExtrusionLine", *LINE_TYPE,
        values=(CompanionValue("ProductionParameters/Throughput", throughput_tag),
                CompanionValue("ProductionParameters/GoodProduct", GOOD_PRODUCT)),
        constants=_identity(definition, "line", "Extrusion line", definition.name))
    return CompanionModel(SPECIFICATION, line, tuple(components))


def _identity(definition: LineDefinition, device: str, device_class: str,
              model: str) -> tuple[tuple[str, Constant], ...]:
    """ExtrusionDeviceType's mandatory properties Poreline knows (the maker's name and serial
    number are the plant's: the line id and device name stand for the serial number)."""
    return (("LineId", definition.name), ("IsPresent", True),
            ("Identification/DeviceClass", device_class), ("Identification/Model", model),
            ("Identification/SerialNumber", f"{definition.name}/{device}"),
            ("Identification/ProductInstanceUri", f"urn:poreline:{definition.name}:{device}"),
            ("Identification/ControllerName", "Poreline line runtime"))
