"""The casting line's recipe blocks: the cast layers (dope, vessel, pump, slot, wet film,
gap, charge) and the quench liquid; their shape, and their compile with the mass balance
that sizes each dope pump (``layer_<n>_flow``, ``layer_<n>_pump_speed``, ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from controller.lines.common import GEAR_PUMP_VOLUMETRIC_EFFICIENCY
from controller.recipe.context import CompileContext, unit_error
from controller.recipe.model import CompiledRecipe
from controller.recipe.schema import RecipeSpec, StrictSpec, Value
from controller.recipe.units import UnitError, convert
from drivers.definition import LineDefinition

# assumption: default margin before the spinodal, 0.03 in ln(w_ns/w_s) (≈ 5 K of path
# temperature at the 0.006/K UCST shift): ~2 K of temperature error along the path plus the
# titration end point's ~0.3 wt% of non-solvent. A recipe may set its own (spinodal_margin).
DEFAULT_SPINODAL_MARGIN: float = 0.03

DERIVED_PARAMETER = re.compile(r"^layer_\d+_")
DERIVED_SUFFIXES = ("flow", "pump_speed", "gap", "wet_thickness")


class LayerSpec(StrictSpec):
    vessel: str
    pump: str
    slot: int
    polymer: str
    solvent: str
    non_solvent: str | None = None  # None: a stable dope, no titration
    polymer_wt_pct: Value
    non_solvent_wt_pct: Value = "0 wt%"
    wet_thickness: Value
    gap: Value
    charge: Value
    description: str = ""


class QuenchSpec(StrictSpec):
    """Composition of the quench (coagulation) liquid, percent by weight."""

    water_wt_pct: float
    dmf_wt_pct: float = 0.0
    surfactant: str | None = None
    surfactant_wt_pct: float = 0.0
    description: str = ""



class ApplicatorSpec(StrictSpec):
    """What the recipe needs of the applicator (seed 003 claim 6: "filled and covered")."""

    covered: bool = False
    description: str = ""


class CastingRecipeSpec(RecipeSpec):
    layers: list[LayerSpec] = Field(default_factory=list)
    quench: QuenchSpec | None = None
    applicator: ApplicatorSpec | None = None
    # alarm and hold when the dope at the knife is predicted this close to its spinodal
    # (in ln(w_ns/w_s), the binodal-depth unit)
    spinodal_margin: float = Field(default=DEFAULT_SPINODAL_MARGIN, ge=0.0, le=0.15)


@dataclass(frozen=True, slots=True)
class DopeLayer:
    """One cast layer (casting line): its dope, the vessel and pump that deliver it, and
    the applicator slot that lays it down. Fractions are of the final (titrated) dope."""

    index: int  # 1-based, bottom layer first
    vessel: str  # device name
    pump: str  # device name
    slot: int  # applicator slot number
    polymer: str
    solvent: str
    non_solvent: str | None  # None: no titration (a stable dope)
    polymer_wt_pct: float
    non_solvent_wt_pct: float
    wet_thickness_um: float
    gap_um: float
    charge_kg: float  # dope charged into the vessel before titration

    @property
    def charge_polymer_wt_pct(self) -> float:
        """Polymer in the charge before titration: the final dope without its
        non-solvent, so w_p / (1 - w_ns)."""
        return self.polymer_wt_pct / (1.0 - self.non_solvent_wt_pct / 100.0)



@dataclass(frozen=True, slots=True)
class CastingBlock:
    """A casting recipe's own blocks, compiled."""

    layers: tuple[DopeLayer, ...]
    quench: QuenchSpec | None
    spinodal_margin: float = DEFAULT_SPINODAL_MARGIN


def casting_block(recipe: CompiledRecipe) -> CastingBlock:
    if not isinstance(recipe.block, CastingBlock):
        raise ValueError(f"recipe {recipe.header.recipe_id} is not a casting recipe")
    return recipe.block


def compile_casting_block(spec: RecipeSpec, line: LineDefinition, ctx: CompileContext) -> CastingBlock:
    """The layers that resolve (errors for the others in ``ctx``), the mass balance's
    derived parameters, and the quench liquid."""
    if not isinstance(spec, CastingRecipeSpec):
        raise TypeError(f"a casting recipe's spec, not {type(spec).__name__}")
    ctx.failed.update(f"layer_{i + 1}_{suffix}" for i in range(len(spec.layers)) for suffix in DERIVED_SUFFIXES)
    layers = _layers(spec, line, ctx)
    return CastingBlock(layers=tuple(layers), quench=spec.quench, spinodal_margin=spec.spinodal_margin)


def _layers(spec: CastingRecipeSpec, line: LineDefinition, ctx: CompileContext) -> list[DopeLayer]:
    knives = line.devices_of_kind("casting_knife")
    slots = sum(1 for t in knives[0].profile.tags if re.fullmatch(r"gap_\d+_setpoint_um", t.name)) if knives else 0
    pumps_on_line = len(line.devices_of_kind("dope_pump"))
    if not spec.layers:
        ctx.error("layers", "layer.count", "a casting recipe needs at least one layer")
    if len(spec.layers) > pumps_on_line:
        ctx.error("layers", "layer.count", f"{len(spec.layers)} layers but the line has {pumps_on_line} dope pump(s): "
                  "every layer needs its own pump")
    if len(spec.layers) > slots:
        ctx.error("layers", "layer.count", f"{len(spec.layers)} layers but the applicator has {slots} slot(s)")
    used: dict[str, dict[Any, int]] = {"vessel": {}, "pump": {}, "slot": {}}
    layers: list[DopeLayer] = []
    for i, layer in enumerate(spec.layers):
        field = f"layers[{i}]"
        ok = _check_layer_equipment(layer, field, line, slots, used, i, ctx)
        values = {
            "polymer_wt_pct": ctx.value(layer.polymer_wt_pct, "percent", f"{field}.polymer_wt_pct",
                                        f"layer {i + 1} polymer fraction"),
            "non_solvent_wt_pct": ctx.value(layer.non_solvent_wt_pct, "percent", f"{field}.non_solvent_wt_pct",
                                            f"layer {i + 1} non-solvent fraction"),
            "wet_thickness_um": ctx.value(layer.wet_thickness, "um", f"{field}.wet_thickness", f"layer {i + 1} wet thickness"),
            "gap_um": ctx.value(layer.gap, "um", f"{field}.gap", f"layer {i + 1} knife gap"),
            "charge_kg": ctx.value(layer.charge, "kg", f"{field}.charge", f"layer {i + 1} dope charge"),
        }
        if not ok:
            continue
        resolved = {k: v for k, v in values.items() if v is not None}
        if len(resolved) != len(values):
            continue
        layers.append(DopeLayer(
            index=i + 1, vessel=layer.vessel, pump=layer.pump, slot=layer.slot, polymer=layer.polymer,
            solvent=layer.solvent, non_solvent=layer.non_solvent, polymer_wt_pct=resolved["polymer_wt_pct"],
            non_solvent_wt_pct=resolved["non_solvent_wt_pct"], wet_thickness_um=resolved["wet_thickness_um"],
            gap_um=resolved["gap_um"], charge_kg=resolved["charge_kg"],
        ))
    _derived_parameters(layers, line, ctx, knives[0].equipment.get("width_m") if knives else None)
    return layers


def _check_layer_equipment(layer: LayerSpec, field: str, line: LineDefinition, slots: int,
                           used: dict[str, dict[Any, int]], i: int, ctx: CompileContext) -> bool:
    ok = True
    for key, name, kind in (("vessel", layer.vessel, "dope_vessel"), ("pump", layer.pump, "dope_pump")):
        if not line.has_device(name):
            names = ", ".join(d.name for d in line.devices_of_kind(kind))
            ctx.error(f"{field}.{key}", "layer.device", f"layer {i + 1}: the line has no {key} {name!r} ({kind}s: {names})")
            ok = False
        elif line.device(name).profile.kind != kind:
            ctx.error(f"{field}.{key}", "layer.device_kind",
                      f"layer {i + 1}: {name!r} is a {line.device(name).profile.kind}, not a {kind}")
            ok = False
        elif name in used[key]:
            ctx.error(f"{field}.{key}", f"layer.{key}_shared",
                      f"layer {i + 1} uses {key} {name!r}, already used by layer {used[key][name] + 1}: "
                      f"every layer needs its own {key}")
            ok = False
        used[key].setdefault(name, i)
    if not 1 <= layer.slot <= slots:
        ctx.error(f"{field}.slot", "layer.slot", f"layer {i + 1}: slot {layer.slot} does not exist "
                  f"(the applicator has slots 1..{slots})")
        ok = False
    elif layer.slot in used["slot"]:
        ctx.error(f"{field}.slot", "layer.slot_shared",
                  f"layer {i + 1}: slot {layer.slot} already used by layer {used['slot'][layer.slot] + 1}")
        ok = False
    used["slot"].setdefault(layer.slot, i)
    return ok


def _derived_parameters(layers: list[DopeLayer], line: LineDefinition, ctx: CompileContext, width_m: float | None) -> None:
    """layer_<n>_flow (mL/min), layer_<n>_pump_speed (rpm), layer_<n>_gap and _wet_thickness (um).

    Mass balance per layer (PHYSICS.md, Casting line): Q = W·h·U, N = Q / (D·η_v).
    """
    if not layers:
        return
    line_speed = ctx.parameters.get("line_speed")
    if line_speed is None or width_m is None:
        if line_speed is None:
            ctx.error("formula.line_speed", "layer.line_speed",
                      "the formula needs a line_speed parameter (e.g. '2 m/min') to size the dope pumps")
        return
    try:
        speed_m_min = convert(line_speed.value, line_speed.unit, "m/min", what="line_speed")
    except UnitError as exc:
        ctx.out.append(unit_error("formula.line_speed.value", exc))
        return
    for layer in layers:
        n = layer.index
        flow_ml_min = width_m * layer.wet_thickness_um * 1e-6 * speed_m_min * 1e6
        displacement = line.device(layer.pump).equipment.get("displacement_cm3_rev", 0.0)
        speed_rpm = flow_ml_min / (displacement * GEAR_PUMP_VOLUMETRIC_EFFICIENCY) if displacement > 0 else 0.0
        for name, value, unit in ((f"layer_{n}_flow", flow_ml_min, "mL/min"),
                                  (f"layer_{n}_pump_speed", speed_rpm, "rpm"),
                                  (f"layer_{n}_gap", layer.gap_um, "um"),
                                  (f"layer_{n}_wet_thickness", layer.wet_thickness_um, "um")):
            ctx.derive(name, value, unit)


