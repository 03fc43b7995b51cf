"""Process rules for casting recipes, from the seeds and from plant practice.

Each rule is a pure function ``(RecipeFacts) -> list[RecipeError]``; every error names
its rule id and where the rule comes from. The compiler has already checked the
equipment-level facts (devices, tags, units, limits) and hands over what it resolved;
a rule only sees values that resolved, so one mistake is not reported twice.

Rule ids: ``S000.*`` from seed 000 (anisotropic membranes from metastable dopes),
``S003.*`` from seed 003 (unsupported multilayer membranes), ``PHYS.*`` from
PHYSICS.md, ``EQ.*`` equipment capacity, ``LINE.*`` safe sequencing of the line.
Phase behaviour (binodal/spinodal) belongs to the simulator, not to these rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controller.line_config import GEAR_PUMP_VOLUMETRIC_EFFICIENCY, LineControl
from controller.recipe.model import (
    Action,
    DopeLayer,
    LoopAction,
    LoopMode,
    Parameter,
    RampAction,
    RatioAction,
    SetAction,
    Transition,
)
from controller.recipe.errors import RecipeError
from controller.recipe.schema import RecipeSpec
from drivers.lines import LineDefinition
from simulator.physics import materials
from simulator.physics.gas import DiffusivityRecord


@dataclass(frozen=True, slots=True)
class ResolvedAction:
    field: str  # e.g. procedure[3].actions[1]
    action: Action


@dataclass(frozen=True, slots=True)
class ResolvedStep:
    index: int
    field: str  # procedure[<index>]
    name: str
    description: str
    actions: tuple[ResolvedAction, ...]
    transition: Transition | None  # None when it did not compile
    production: bool


@dataclass(frozen=True, slots=True)
class RecipeFacts:
    spec: RecipeSpec
    line: LineDefinition
    control: LineControl
    parameters: Mapping[str, Parameter]  # formula and derived, canonical units
    layers: tuple[DopeLayer, ...]  # the layers that resolved
    steps: tuple[ResolvedStep, ...]


Rule = Callable[[RecipeFacts], list[RecipeError]]

# --- seed 000 ---------------------------------------------------------------------
# "the polymer concentration when the polymer is polysulfone alone should be generally
# from about 6 to 13, typically from about 8 to about 12, and preferably from about 9 to
# about 10 percent by weight of the casting dope" (seed 000; claim 19: 6 to 13).
PSF_RANGE_WT_PCT = (6.0, 13.0)
PSF_PREFERRED_WT_PCT = (9.0, 10.0)
POLYSULFONE = frozenset({"polysulfone", "polyarylsulfone", "psf", "psu"})

# Seed 000: polymers "particularly useful": polysulfone, polyimides, polycarbonates,
# polyacrylonitriles incl. poly(alkylacrylonitriles), polyquinoxalines, polyquinolines.
# Seed 003: nylon, polyvinylidene fluoride, polyether sulfone.
SEED003_POLYMERS = frozenset({
    "nylon", "nylon6", "nylon66", "polyamide",
    "pvdf", "polyvinylidenefluoride",
    "pes", "polyethersulfone",
})
KNOWN_POLYMERS = POLYSULFONE | SEED003_POLYMERS | frozenset({
    "polyimide", "polycarbonate", "polyacrylonitrile", "polymethacrylonitrile",
    "polyquinoxaline", "polyphenylquinoxaline", "polyquinoline",
})

# Seed 000: "The solvents which may be used ... include Dimethyl formamide, Dimethyl
# acetamide, Dioxane, N-Methyl pyrrolidone, Dimethyl sulfoxide, Chloroform,
# Tetramethylurea, Tetrachloroethane". Formic acid: assumption, the usual solvent of
# nylon dopes (seed 003 names nylon but no solvent).
KNOWN_SOLVENTS = frozenset({
    "dmf", "dimethylformamide", "dmac", "dma", "dimethylacetamide", "dioxane",
    "nmp", "nmethylpyrrolidone", "nmethyl2pyrrolidone", "dmso", "dimethylsulfoxide",
    "chloroform", "tetramethylurea", "tetrachloroethane", "formicacid",
})

# Seed 000: "Suitable non solvents include Methanol, Acetone, Ethanol, Methyl ethyl
# ketone, Isopropanol, Methyl isobutyl ketone, Amyl alcohol, Nitropropane, Hexanol, Butyl
# ether, Heptanol, Ethyl acetate, Octanol, Amyl acetate, Propane, Hexane, Heptane,
# Octane"; the examples add isopropyl alcohol (V), i-butyl alcohol (IV), hexane (VII),
# 2-methyl-2-butanol (VIII) and 2-methyl-1-butanol (Figure II); both methylbutanols are
# amyl alcohols.
KNOWN_NON_SOLVENTS = frozenset({
    "methanol", "acetone", "ethanol", "methylethylketone", "mek", "isopropanol",
    "isopropylalcohol", "ipa", "2propanol", "methylisobutylketone", "mibk", "amylalcohol",
    "pentanol", "2methyl2butanol", "tertamylalcohol", "2methyl1butanol", "nitropropane",
    "1nitropropane", "2nitropropane", "hexanol", "butylether", "dibutylether", "heptanol",
    "ethylacetate", "octanol", "amylacetate", "propane", "hexane", "nhexane", "heptane",
    "octane", "ibutylalcohol", "isobutylalcohol", "isobutanol",
})

# Upper bound on the non-solvent in the dope. The seed's examples titrate to 10.3 %
# (V, isopropanol), 11.9 % (VII, hexane), 14.5 % at the binodal (Figure II), 15.5 % (VIII)
# and 16.2 % (IV); deeper titration crosses the spinodal, "where membranes cannot be
# produced". 20 wt% is the assumption: the highest example plus a margin. Where the
# binodal and spinodal actually lie is the simulator's business.
NON_SOLVENT_MAX_WT_PCT = 20.0

# Quench liquid: "Water is a generally preferred quench liquid ..., although a mixture
# of 80 per cent water and 20 per cent dimethyl formamide is particularly preferred";
# surfactant "generally from about 0.001 to about 2 per cent, typically from about 0.02
# to about 0.2 per cent" (seed 000). The typical window is enforced.
QUENCH_DMF_MAX_WT_PCT = 20.0
SURFACTANT_WT_PCT = (0.02, 0.2)

# --- PHYSICS.md --------------------------------------------------------------------
# "Knife coating: wet film ≈ 0.5-0.9 × gap": so wet/0.9 <= gap <= wet/0.5.
WET_OVER_GAP = (0.5, 0.9)

# --- equipment and plant practice (assumptions, stated) -------------------------------
# Zenith PEP-II pumps run 10-90 rpm (PHYSICS.md): below 10 rpm metering is poor.
PUMP_MIN_GOOD_RPM = 10.0
# Priming: pumps may turn at or below this speed with the belt stopped (dope goes to the
# catch pan under the applicator); above it the belt must run. Assumption.
PRIMING_MAX_RPM = 10.0
# Dope density for the inventory check: DMF 0.944 g/cm3, PSf 1.24 g/cm3; a 10 % dope is
# about 0.97 g/cm3 (assumption for all dopes).
DOPE_DENSITY_KG_L = 0.97
GAP_TOLERANCE_UM = 1.0


def _norm(name: str | None) -> str:
    return "".join(ch for ch in (name or "").lower() if ch.isalnum())


def _layer_field(facts: RecipeFacts, layer: DopeLayer) -> str:
    return f"layers[{layer.index - 1}]"


# ----------------------------------------------------------------------- dope rules
def polysulfone_fraction(facts: RecipeFacts) -> list[RecipeError]:
    """S000.polymer_range (error) and S000.polymer_preferred (warning)."""
    out = []
    low, high = PSF_RANGE_WT_PCT
    plow, phigh = PSF_PREFERRED_WT_PCT
    for layer in facts.layers:
        if _norm(layer.polymer) not in POLYSULFONE:
            continue
        field = f"{_layer_field(facts, layer)}.polymer_wt_pct"
        w = layer.polymer_wt_pct
        if not low <= w <= high:
            out.append(RecipeError(field, "S000.polymer_range",
                                   f"layer {layer.index}: {w:g} wt% polysulfone is outside {low:g}-{high:g} wt%: "
                                   "too little gives no coherent membrane, too much a granular support "
                                   "(seed 000, claim 19)"))
        elif not plow <= w <= phigh:
            out.append(RecipeError(field, "S000.polymer_preferred",
                                   f"layer {layer.index}: {w:g} wt% polysulfone is allowed but outside the "
                                   f"preferred {plow:g}-{phigh:g} wt% (seed 000)", "warning"))
    return out


def known_materials(facts: RecipeFacts) -> list[RecipeError]:
    """S000.polymer_known, S000.solvent_known, S000.non_solvent_known."""
    out = []
    for i, layer in enumerate(facts.spec.layers):
        field = f"layers[{i}]"
        if _norm(layer.polymer) not in KNOWN_POLYMERS:
            out.append(RecipeError(f"{field}.polymer", "S000.polymer_known",
                                   f"layer {i + 1}: polymer {layer.polymer!r} is not one the seeds describe "
                                   "(seed 000: polysulfone, polyimide, polycarbonate, polyacrylonitrile, "
                                   "polyquinoxaline, polyquinoline; seed 003: nylon, PVDF, PES)"))
        if _norm(layer.solvent) not in KNOWN_SOLVENTS:
            out.append(RecipeError(f"{field}.solvent", "S000.solvent_known",
                                   f"layer {i + 1}: solvent {layer.solvent!r} is not in seed 000's list "
                                   "(DMF, DMAc, dioxane, NMP, DMSO, chloroform, tetramethylurea, tetrachloroethane)"))
        if layer.non_solvent is not None and _norm(layer.non_solvent) not in KNOWN_NON_SOLVENTS:
            out.append(RecipeError(f"{field}.non_solvent", "S000.non_solvent_known",
                                   f"layer {i + 1}: non-solvent {layer.non_solvent!r} is not in seed 000's list "
                                   "(alcohols such as isopropanol, amyl alcohols, 2-methyl-2-butanol; ketones; "
                                   "hexane, heptane, octane; ...)"))
    return out


def dope_composition(facts: RecipeFacts) -> list[RecipeError]:
    """S000.non_solvent_max, S000.non_solvent_fraction, DOPE.composition."""
    out = []
    for layer in facts.layers:
        field = _layer_field(facts, layer)
        w_p, w_ns = layer.polymer_wt_pct, layer.non_solvent_wt_pct
        if w_p <= 0 or w_ns < 0 or w_p + w_ns >= 100:
            out.append(RecipeError(field, "DOPE.composition",
                                   f"layer {layer.index}: {w_p:g} wt% polymer + {w_ns:g} wt% non-solvent leaves "
                                   f"{100 - w_p - w_ns:g} wt% solvent; a dope needs polymer and solvent"))
        if layer.non_solvent is None and w_ns > 0:
            out.append(RecipeError(f"{field}.non_solvent", "S000.non_solvent_fraction",
                                   f"layer {layer.index}: {w_ns:g} wt% non-solvent given but no non_solvent named"))
        if layer.non_solvent is not None and w_ns <= 0:
            out.append(RecipeError(f"{field}.non_solvent_wt_pct", "S000.non_solvent_fraction",
                                   f"layer {layer.index}: non-solvent {layer.non_solvent!r} named but its "
                                   "fraction is 0: give the titration end point in wt%"))
        if w_ns > NON_SOLVENT_MAX_WT_PCT:
            out.append(RecipeError(f"{field}.non_solvent_wt_pct", "S000.non_solvent_max",
                                   f"layer {layer.index}: {w_ns:g} wt% non-solvent is above {NON_SOLVENT_MAX_WT_PCT:g} wt%; "
                                   "the seed's dopes titrate to 10-16 wt% and deeper dopes pass the spinodal, "
                                   "where no membrane can be cast (seed 000)"))
    return out


def multilayer_polymers(facts: RecipeFacts) -> list[RecipeError]:
    """S003.multilayer_polymer: multilayer casting is the process of seed 003 (nylon, PVDF, PES)."""
    if len(facts.spec.layers) < 2:
        return []
    return [
        RecipeError(f"layers[{i}].polymer", "S003.multilayer_polymer",
                    f"layer {i + 1}: {layer.polymer!r} in a multilayer membrane; seed 003 casts "
                    "multilayer unsupported membranes from nylon, PVDF or PES dopes")
        for i, layer in enumerate(facts.spec.layers)
        if _norm(layer.polymer) not in SEED003_POLYMERS
    ]


def knife_gap(facts: RecipeFacts) -> list[RecipeError]:
    """PHYS.knife_gap: wet film ≈ 0.5-0.9 × gap (PHYSICS.md, Casting line)."""
    out = []
    lo, hi = WET_OVER_GAP
    for layer in facts.layers:
        wet, gap = layer.wet_thickness_um, layer.gap_um
        if not wet / hi - 1e-9 <= gap <= wet / lo + 1e-9:
            out.append(RecipeError(f"{_layer_field(facts, layer)}.gap", "PHYS.knife_gap",
                                   f"layer {layer.index}: a {gap:g} um gap cannot lay a {wet:g} um wet film; the wet film "
                                   f"is 0.5-0.9 x gap, so the gap must be {wet / hi:.0f}-{wet / lo:.0f} um (PHYSICS.md)"))
    return out


# ---------------------------------------------------------------------- quench rules
def quench_liquid(facts: RecipeFacts) -> list[RecipeError]:
    """S000.quench_missing, S000.quench_composition, S000.quench_dmf, S000.quench_surfactant."""
    q = facts.spec.quench
    if facts.line.kind != "casting":
        return []
    if q is None:
        return [RecipeError("quench", "S000.quench_missing",
                            "a casting recipe states its quench liquid (water, or water/DMF, with any surfactant)")]
    out = []
    parts = {"water_wt_pct": q.water_wt_pct, "dmf_wt_pct": q.dmf_wt_pct, "surfactant_wt_pct": q.surfactant_wt_pct}
    for key, value in parts.items():
        if not 0 <= value <= 100:
            out.append(RecipeError(f"quench.{key}", "S000.quench_composition", f"quench {key} {value:g} is not 0-100 wt%"))
    total = sum(parts.values())
    if abs(total - 100.0) > 0.05:
        out.append(RecipeError("quench", "S000.quench_composition",
                               f"quench liquid adds up to {total:g} wt%, not 100 (water + DMF + surfactant)"))
    if q.dmf_wt_pct > QUENCH_DMF_MAX_WT_PCT:
        out.append(RecipeError("quench.dmf_wt_pct", "S000.quench_dmf",
                               f"{q.dmf_wt_pct:g} wt% DMF in the quench liquid is above {QUENCH_DMF_MAX_WT_PCT:g} wt%: "
                               "seed 000 quenches in water or, preferably, 80/20 water/DMF"))
    if q.surfactant_wt_pct > 0:
        lo, hi = SURFACTANT_WT_PCT
        if not lo <= q.surfactant_wt_pct <= hi:
            out.append(RecipeError("quench.surfactant_wt_pct", "S000.quench_surfactant",
                                   f"{q.surfactant_wt_pct:g} wt% surfactant is outside the typical {lo:g}-{hi:g} wt% "
                                   "of the quench liquid (seed 000)"))
        if not q.surfactant:
            out.append(RecipeError("quench.surfactant", "S000.quench_surfactant",
                                   "name the surfactant (seed 000: sodium dodecyl sulfate, ethoxylated alcohols, "
                                   "glycerol esters, fluorocarbon surfactants)"))
    elif q.surfactant:
        out.append(RecipeError("quench.surfactant_wt_pct", "S000.quench_surfactant",
                               f"surfactant {q.surfactant!r} named but its fraction is 0"))
    return out


def quench_dmf_setpoint(facts: RecipeFacts) -> list[RecipeError]:
    """S000.quench_dmf: the DMF-fraction loop may not hold the bath above 20 wt% DMF."""
    out = []
    for step in facts.steps:
        for ra in step.actions:
            a = ra.action
            if isinstance(a, LoopAction) and a.loop == "quench_bath_dmf" and a.setpoint is not None \
                    and a.setpoint > QUENCH_DMF_MAX_WT_PCT:
                out.append(RecipeError(f"{ra.field}.setpoint", "S000.quench_dmf",
                                       f"quench DMF setpoint {a.setpoint:g} % is above {QUENCH_DMF_MAX_WT_PCT:g} %: "
                                       "seed 000 quenches in water or 80/20 water/DMF"))
    return out


# ------------------------------------------------------------------- equipment rules
def pump_speeds(facts: RecipeFacts) -> list[RecipeError]:
    """EQ.pump_speed (error) and EQ.pump_speed_low (warning) for the mass-balance speeds."""
    out = []
    for layer in facts.layers:
        p = facts.parameters.get(f"layer_{layer.index}_pump_speed")
        if p is None:
            continue
        tag = facts.line.device(layer.pump).profile.tag("speed_setpoint_rpm")
        field = f"{_layer_field(facts, layer)}.wet_thickness"
        if not tag.low <= p.value <= tag.high:
            out.append(RecipeError(field, "EQ.pump_speed",
                                   f"layer {layer.index}: {layer.wet_thickness_um:g} um at the line speed needs "
                                   f"{p.value:.1f} rpm on {layer.pump}, outside its {tag.low:g}-{tag.high:g} rpm"))
        elif p.value < PUMP_MIN_GOOD_RPM:
            out.append(RecipeError(field, "EQ.pump_speed_low",
                                   f"layer {layer.index}: {p.value:.1f} rpm on {layer.pump} is below "
                                   f"{PUMP_MIN_GOOD_RPM:g} rpm, where gear pumps meter poorly (Zenith: 10-90 rpm)",
                                   "warning"))
    return out


def vessel_charge(facts: RecipeFacts) -> list[RecipeError]:
    """EQ.vessel_charge: the charge fits the vessel's nominal charge."""
    out = []
    for layer in facts.layers:
        capacity = facts.line.device(layer.vessel).equipment.get("charge_kg")
        if capacity is not None and layer.charge_kg > capacity:
            out.append(RecipeError(f"{_layer_field(facts, layer)}.charge", "EQ.vessel_charge",
                                   f"layer {layer.index}: {layer.charge_kg:g} kg is more than {layer.vessel} takes "
                                   f"({capacity:g} kg)"))
        if layer.charge_kg <= 0:
            out.append(RecipeError(f"{_layer_field(facts, layer)}.charge", "EQ.vessel_charge",
                                   f"layer {layer.index}: the dope charge must be above 0 kg"))
    return out


def dope_inventory(facts: RecipeFacts) -> list[RecipeError]:
    """EQ.dope_inventory: the titrated charge lasts the production steps' hold time."""
    production_s = sum(s.transition.hold_for_s for s in facts.steps if s.production and s.transition)
    out = []
    for layer in facts.layers:
        flow = facts.parameters.get(f"layer_{layer.index}_flow")
        if flow is None or production_s <= 0:
            continue
        needed_kg = flow.value / 1000.0 * production_s / 60.0 * DOPE_DENSITY_KG_L
        available_kg = layer.charge_kg / (1.0 - layer.non_solvent_wt_pct / 100.0)  # titration adds non-solvent
        if needed_kg > available_kg:
            out.append(RecipeError(f"{_layer_field(facts, layer)}.charge", "EQ.dope_inventory",
                                   f"layer {layer.index}: {production_s / 3600:.2f} h of production at "
                                   f"{flow.value:.0f} mL/min needs {needed_kg:.0f} kg of dope; the charge gives "
                                   f"{available_kg:.0f} kg"))
    return out


# ------------------------------------------------------------------ sequencing rules
@dataclass(frozen=True, slots=True)
class _State:
    """What the procedure has commanded after a step: outputs and loop modes."""

    outputs: dict[str, float]
    loops: dict[str, LoopAction]


def commanded_states(steps: Sequence[ResolvedStep]) -> list[_State]:
    """The commanded outputs and loop modes after each step (a ramp counts as its target,
    a ratio station in auto as its output at the planned throughput)."""
    outputs: dict[str, float] = {}
    loops: dict[str, LoopAction] = {}
    states = []
    for step in steps:
        for ra in step.actions:
            a = ra.action
            if isinstance(a, SetAction):
                outputs[a.address] = a.value
            elif isinstance(a, RampAction):
                outputs[a.address] = a.target
            elif isinstance(a, RatioAction):
                outputs[a.output] = a.planned_output
            elif isinstance(a, LoopAction):
                loops[a.loop] = a
        states.append(_State(dict(outputs), dict(loops)))
    return states


def _pump_address(pump: str) -> str:
    return f"{pump}.speed_setpoint_rpm"


BELT = "support_belt.line_speed_setpoint_m_min"


def safe_end(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.safe_end: the last step commands every dope pump that ran and the belt to 0."""
    if not facts.steps or facts.line.kind != "casting":
        return []
    last = facts.steps[-1]
    in_last = {ra.action.address: ra.action for ra in last.actions if isinstance(ra.action, (SetAction, RampAction))}
    must_stop = {_pump_address(layer.pump) for layer in facts.layers}
    for step in facts.steps:
        for ra in step.actions:
            a = ra.action
            if isinstance(a, (SetAction, RampAction)) and (a.address.endswith(".speed_setpoint_rpm") or a.address == BELT) \
                    and a.address.split(".")[0] in {d.name for d in facts.line.devices_of_kind("dope_pump")} | {"support_belt"}:
                must_stop.add(a.address)
    must_stop.add(BELT)
    out = []
    for address in sorted(must_stop):
        a = in_last.get(address)
        target = None if a is None else (a.value if isinstance(a, SetAction) else a.target)
        if target != 0.0:
            out.append(RecipeError(f"{last.field}.actions", "LINE.safe_end",
                                   f"the last step ({last.name}) must command {address} to 0 so that the line ends "
                                   "stopped (pumps first, then the belt)"))
    return out


def dosing_end(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.dosing_end: every non-solvent dosing flow ends at 0 (a forgotten dosing pump
    keeps titrating the dope past the spinodal)."""
    states = commanded_states(facts.steps)
    if not states:
        return []
    final = states[-1].outputs
    return [
        RecipeError(f"{facts.steps[-1].field}.actions", "LINE.dosing_end",
                    f"{address} is left at {value:g} mL/min at the end of the procedure; stop the dosing")
        for address, value in sorted(final.items())
        if address.endswith(".dosing_flow_setpoint_ml_min") and value != 0.0
    ]


def heaters_end(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.heaters_end (warning): heating loops left on at the end of the procedure."""
    states = commanded_states(facts.steps)
    if not states:
        return []
    last = facts.steps[-1]
    out = []
    for name, loop in sorted(states[-1].loops.items()):
        if loop.mode is LoopMode.AUTO or (loop.mode is LoopMode.MANUAL and (loop.output or 0.0) != 0.0):
            out.append(RecipeError(f"{last.field}.actions", "LINE.heaters_end",
                                   f"loop {name} is left in {loop.mode.value} at the end; switch it off in the "
                                   "shutdown step unless the line is kept warm on purpose", "warning"))
    for address, value in sorted(states[-1].outputs.items()):
        if address.endswith("heater_output_pct") and value != 0.0:
            out.append(RecipeError(f"{last.field}.actions", "LINE.heaters_end",
                                   f"{address} is left at {value:g} % at the end", "warning"))
    return out


def casting_interlocks(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.belt_while_casting, LINE.gap_while_casting, LINE.gap_mismatch, LINE.pump_without_layer:
    checked on what is commanded after every step."""
    out: list[RecipeError] = []
    reported: set[tuple[str, str]] = set()  # (rule, pump): report the first step only

    def report(rule: str, pump: str, error: RecipeError) -> None:
        if (rule, pump) not in reported:
            reported.add((rule, pump))
            out.append(error)

    by_pump = {layer.pump: layer for layer in facts.layers}
    all_pumps = [d.name for d in facts.line.devices_of_kind("dope_pump")]
    for step, state in zip(facts.steps, commanded_states(facts.steps)):
        belt = state.outputs.get(BELT, 0.0)
        for pump in all_pumps:
            speed = state.outputs.get(_pump_address(pump), 0.0)
            if speed <= 0.0:
                continue
            layer = by_pump.get(pump)
            if layer is None and pump not in {spec_layer.pump for spec_layer in facts.spec.layers}:
                report("LINE.pump_without_layer", pump, RecipeError(f"{step.field}.actions", "LINE.pump_without_layer",
                                       f"step {step.name}: {pump} runs but no layer uses it"))
            if layer is None:
                continue
            if speed > PRIMING_MAX_RPM and belt <= 0.0:
                report("LINE.belt_while_casting", pump, RecipeError(f"{step.field}.actions", "LINE.belt_while_casting",
                                       f"step {step.name}: {pump} at {speed:.1f} rpm with the belt stopped; above "
                                       f"{PRIMING_MAX_RPM:g} rpm (priming) the belt must run, and at shutdown the "
                                       "pumps stop before the belt"))
            gap = state.outputs.get(f"casting_knife.gap_{layer.slot}_setpoint_um", 0.0)
            if gap <= 0.0:
                report("LINE.gap_while_casting", pump, RecipeError(f"{step.field}.actions", "LINE.gap_while_casting",
                                       f"step {step.name}: {pump} runs against a closed slot {layer.slot}; "
                                       "set the gap before the pump turns"))
            elif speed > PRIMING_MAX_RPM and abs(gap - layer.gap_um) > GAP_TOLERANCE_UM:
                report("LINE.gap_mismatch", pump, RecipeError(f"{step.field}.actions", "LINE.gap_mismatch",
                                       f"step {step.name}: slot {layer.slot} gap {gap:g} um while casting, the layer "
                                       f"says {layer.gap_um:g} um (use layer_{layer.index}_gap)"))
    return out


def production_running(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.production_running: a production step has the belt and every layer's pump
    running; PROC.no_production (warning): no step is marked production."""
    out = []
    if facts.line.kind != "casting":
        return out
    states = commanded_states(facts.steps)
    for step, state in zip(facts.steps, states):
        if not step.production:
            continue
        if state.outputs.get(BELT, 0.0) <= 0.0:
            out.append(RecipeError(f"{step.field}.production", "LINE.production_running",
                                   f"step {step.name} is marked production but the belt is not commanded to run"))
        for layer in facts.layers:
            if state.outputs.get(_pump_address(layer.pump), 0.0) <= PRIMING_MAX_RPM:
                out.append(RecipeError(f"{step.field}.production", "LINE.production_running",
                                       f"step {step.name} is marked production but {layer.pump} (layer "
                                       f"{layer.index}) is not commanded above priming speed"))
    if facts.steps and facts.line.kind == "casting" and not any(s.production for s in facts.steps):
        out.append(RecipeError("procedure", "PROC.no_production",
                               "no step is marked production: true (the batch report counts nothing)", "warning"))
    return out


# --- seed 001 (extrusion foaming) ---------------------------------------------------
# Claim 11: "substituted and unsubstituted cellulose derivatives, polyolefins, polyesters,
# polysulfones, polyethersulfones and polyamides".
SEED001_POLYMERS = frozenset({
    "cellulosederivative", "celluloseacetate", "cellulose",
    "polyolefin", "polyethylene", "polypropylene", "pe", "pp",
    "polyester", "pet", "polyethyleneterephthalate", "pbt",
    "polysulfone", "psu", "psf",
    "polyethersulfone", "pes", "pesu",
    "polyamide", "nylon", "nylon6", "nylon66", "pa6", "pa66",
})
SEED001_COOLING_K = 50.0  # claim 7: at least 50 °C below the initial processing temperature
SEED001_MIXING_PRESSURE_BAR = 150.0  # claim 8: greater than 150 bar in the mixing stage
GAS_PRESSURE_FACTOR_RANGE = (1.2, 1.5)  # PHYSICS.md: inject while P > 1.2-1.5 x P_min
BLOWING_AGENT_PUMPS = {"co2": "co2_pump", "carbondioxide": "co2_pump", "water": "water_pump", "h2o": "water_pump"}


def _agent_record(name: str) -> DiffusivityRecord | None:
    return materials.blowing_agent_diffusivity(name)


def foaming_derived_parameters(spec: RecipeSpec, line: LineDefinition, parameters: dict[str, Parameter],
                               out: list[RecipeError]) -> None:
    """polymer_throughput (kg/h) from melt pump 2's speed (``melt_pump_2_speed``) and, per
    blowing agent, ``<agent>_ratio`` (% of the polymer mass, the ratio stations' ratio:
    r = w/(1 − Σw) for loadings w of the total) and ``<agent>_flow`` (g/min), the flow
    that ratio gives at the planned throughput."""
    if spec.materials is None:
        out.append(RecipeError("materials", "S001.polymer", "a foaming recipe needs a materials block "
                               "(polymer and blowing agents)"))
        return
    speed = parameters.get("melt_pump_2_speed")
    if speed is None or speed.unit != "rpm":
        out.append(RecipeError("formula.melt_pump_2_speed", "FOAM.throughput",
                               "the formula needs melt_pump_2_speed in rpm: melt pump 2 sets the throughput"))
        return
    if not materials.has_melt_data(spec.materials.polymer):
        return  # S001.polymer / EQ.melt_data report it
    density_kg_m3 = materials.melt_properties(spec.materials.polymer).melt_density_kg_m3
    displacement = line.device("melt_pump_2").equipment.get("displacement_cm3_rev", 0.0)
    polymer_kg_h = displacement * 1e-6 * speed.value * 60.0 * GEAR_PUMP_VOLUMETRIC_EFFICIENCY * density_kg_m3
    parameters["polymer_throughput"] = Parameter("polymer_throughput", polymer_kg_h, "kg/h")
    total = sum(agent.wt_pct for agent in spec.materials.blowing_agents) / 100.0
    if not 0.0 <= total < 0.5:
        out.append(RecipeError("materials.blowing_agents", "FOAM.gas_loading",
                               f"blowing agents total {100 * total:g} wt%: expected 0..50"))
        return
    for agent in spec.materials.blowing_agents:
        key = _norm(agent.name)
        if key not in BLOWING_AGENT_PUMPS:
            continue  # S001.two_fluids reports it
        fluid = "co2" if BLOWING_AGENT_PUMPS[key] == "co2_pump" else "water"
        ratio_pct = 100.0 * (agent.wt_pct / 100.0) / (1.0 - total)  # g of agent per 100 g of polymer
        parameters[f"{fluid}_ratio"] = Parameter(f"{fluid}_ratio", ratio_pct, "percent")
        parameters[f"{fluid}_flow"] = Parameter(f"{fluid}_flow", polymer_kg_h * 1000.0 / 60.0 * ratio_pct / 100.0, "g/min")


def _foaming(facts: RecipeFacts) -> bool:
    return facts.line.kind == "foaming"


def seed001_polymer(facts: RecipeFacts) -> list[RecipeError]:
    """S001.polymer: the polymer is one of seed 001's (claim 11); EQ.melt_data: the
    simulator and soft sensors have melt data for it (PSU, PES)."""
    if not _foaming(facts) or facts.spec.materials is None:
        return []
    polymer = facts.spec.materials.polymer
    if _norm(polymer) not in SEED001_POLYMERS:
        return [RecipeError("materials.polymer", "S001.polymer",
                            f"polymer {polymer!r} is not in seed 001's list (claim 11: cellulose derivatives, "
                            "polyolefins, polyesters, polysulfones, polyethersulfones, polyamides)")]
    if not materials.has_melt_data(polymer):
        return [RecipeError("materials.polymer", "EQ.melt_data",
                            f"no melt data for {polymer!r} on this line (known: PSU, PES)")]
    return []


def seed001_two_fluids(facts: RecipeFacts) -> list[RecipeError]:
    """S001.two_fluids: at least two cell-forming fluids of different diffusion rates (claim 6)."""
    if not _foaming(facts) or facts.spec.materials is None:
        return []
    agents = facts.spec.materials.blowing_agents
    records = [_agent_record(a.name) for a in agents if a.wt_pct > 0.0]
    unknown = [a.name for a in agents if _agent_record(a.name) is None]
    if unknown:
        return [RecipeError("materials.blowing_agents", "S001.two_fluids",
                            f"no metering pump or diffusion data for {', '.join(unknown)} (this line meters CO2 and water)")]
    distinct = {id(r) for r in records}
    if len(distinct) < 2:
        return [RecipeError("materials.blowing_agents", "S001.two_fluids",
                            "seed 001 (claim 6) charges the melt with at least two fluids of different diffusion "
                            "rates (e.g. CO2 and water); this recipe has "
                            f"{', '.join(a.name for a in agents if a.wt_pct > 0.0) or 'none'}")]
    return []


def _production_loops(facts: RecipeFacts) -> list[tuple[ResolvedStep, dict[str, LoopAction]]]:
    return [(step, state.loops) for step, state in zip(facts.steps, commanded_states(facts.steps)) if step.production]


def seed001_cooling(facts: RecipeFacts) -> list[RecipeError]:
    """S001.cooling: in production the exchanger cools the melt at least 50 °C below the
    initial processing temperature (the highest barrel-zone setpoint; claim 7)."""
    if not _foaming(facts):
        return []
    processing = [ra.action.setpoint for s in facts.steps for ra in s.actions
                  if isinstance(ra.action, LoopAction) and ra.action.loop.startswith("barrel_zone_")
                  and ra.action.setpoint is not None]
    if not processing:
        return [RecipeError("procedure", "S001.cooling", "no barrel-zone setpoint: the initial processing "
                            "temperature is unknown")]
    initial_c = max(processing)
    out = []
    production = _production_loops(facts)
    if not production:
        out.append(RecipeError("procedure", "S001.cooling", "no production step: nothing shows the melt cooled"))
    for step, loops in production:
        loop = loops.get("melt_cooling")
        cooled = loop.setpoint if loop is not None and loop.mode is LoopMode.AUTO else None
        if cooled is None or cooled > initial_c - SEED001_COOLING_K:
            out.append(RecipeError(f"{step.field}.actions", "S001.cooling",
                                   f"step {step.name}: the melt must be cooled at least {SEED001_COOLING_K:g} degC "
                                   f"below the initial processing temperature {initial_c:g} degC (seed 001, claim 7); "
                                   f"melt_cooling setpoint is {'not set' if cooled is None else f'{cooled:g} degC'}"))
    return out


def seed001_pressure(facts: RecipeFacts) -> list[RecipeError]:
    """S001.pressure: in production the second mixing stage is held above 150 bar (claim 8)."""
    if not _foaming(facts):
        return []
    out = []
    for step, loops in _production_loops(facts):
        loop = loops.get("mixing_pressure")
        pressure = loop.setpoint if loop is not None and loop.mode is LoopMode.AUTO else None
        if pressure is None or pressure <= SEED001_MIXING_PRESSURE_BAR:
            out.append(RecipeError(f"{step.field}.actions", "S001.pressure",
                                   f"step {step.name}: the second mixing stage must be held above "
                                   f"{SEED001_MIXING_PRESSURE_BAR:g} bar (seed 001, claim 8); mixing_pressure setpoint is "
                                   f"{'not set' if pressure is None else f'{pressure:g} bar'}"))
    return out


def gas_pressure_factor(facts: RecipeFacts) -> list[RecipeError]:
    """PHYS.gas_factor: the gas interlock's factor on P_min is given and within 1.2-1.5."""
    if not _foaming(facts):
        return []
    factor = facts.parameters.get("gas_pressure_factor")
    low, high = GAS_PRESSURE_FACTOR_RANGE
    if factor is None or not low <= factor.value <= high:
        return [RecipeError("formula.gas_pressure_factor", "PHYS.gas_factor",
                            f"gas_pressure_factor must be given within {low:g}..{high:g} (gas is injected only while "
                            "the melt pressure is that factor above the single-phase minimum)")]
    return []


def gas_off_first(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.gas_off_first: the procedure ends with gas, melt pumps and screw at 0, and the
    gas is off before (or in the same step as) the melt pumps stop."""
    if not _foaming(facts) or not facts.steps:
        return []
    gas = ("co2_pump.mass_flow_setpoint_g_min", "water_pump.mass_flow_setpoint_g_min")
    pumps = ("melt_pump_1.speed_setpoint_rpm", "melt_pump_2.speed_setpoint_rpm", "extruder.screw_speed_setpoint_rpm")
    states = commanded_states(facts.steps)
    out = []
    final = states[-1].outputs
    for address in gas + pumps:
        if final.get(address, 0.0) != 0.0:
            out.append(RecipeError(f"{facts.steps[-1].field}.actions", "LINE.gas_off_first",
                                   f"{address} is left at {final[address]:g} at the end; the line must end stopped"))
    for step, state in zip(facts.steps, states):
        stopped = state.outputs.get("melt_pump_2.speed_setpoint_rpm", 0.0) == 0.0
        if stopped and any(state.outputs.get(a, 0.0) > 0.0 for a in gas):
            out.append(RecipeError(f"{step.field}.actions", "LINE.gas_off_first",
                                   f"step {step.name}: gas is metered while melt pump 2 is stopped; shut the gas "
                                   "off first"))
            break
    return out


def ratio_matches_materials(facts: RecipeFacts) -> list[RecipeError]:
    """MAT.ratio: a ratio station meters what the materials say (the batch record's
    loading is the materials'): its ratio is the one the compiler derives from them."""
    out = []
    for step in facts.steps:
        for ra in step.actions:
            a = ra.action
            if not isinstance(a, RatioAction) or not a.on:
                continue
            name = facts.control.ratio(a.station).material_ratio_parameter
            expected = facts.parameters.get(name) if name else None
            if name and expected is None:
                out.append(RecipeError(ra.field, "MAT.ratio", f"step {step.name}: {a.station} meters a fluid the "
                                       f"materials do not list (no {name})"))
            elif expected is not None and abs(a.ratio - expected.value) > 1e-6 * max(1.0, expected.value):
                out.append(RecipeError(ra.field, "MAT.ratio", f"step {step.name}: {a.station} ratio {a.ratio:.4g} % is "
                                       f"not the {expected.value:.4g} % the materials' loading gives; use {name}"))
    return out


def output_owner(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.output_owner: a set or ramp does not write an output that a loop in auto or a
    ratio station in auto drives at that point of the procedure (the controller would
    overwrite it on the next scan); switch the loop to manual/off or the station off first."""
    owners: dict[str, str] = {}  # output address -> "loop x" / "ratio station y", while in auto
    loop_outputs = {loop.name: loop.output for loop in facts.control.loops}
    out = []
    for step in facts.steps:
        for ra in step.actions:
            a = ra.action
            if isinstance(a, LoopAction) and a.loop in loop_outputs:
                if a.mode is LoopMode.AUTO:
                    owners[loop_outputs[a.loop]] = f"loop {a.loop}"
                else:
                    owners.pop(loop_outputs[a.loop], None)
            elif isinstance(a, RatioAction):
                if a.on:
                    owners[a.output] = f"ratio station {a.station}"
                else:
                    owners.pop(a.output, None)
            elif isinstance(a, (SetAction, RampAction)) and a.address in owners:
                out.append(RecipeError(ra.field, "LINE.output_owner",
                                       f"step {step.name}: {a.address} is driven by {owners[a.address]} in auto; "
                                       "switch it off (or the loop to manual) before writing it"))
    return out


RULES: tuple[Rule, ...] = (
    polysulfone_fraction,
    known_materials,
    dope_composition,
    multilayer_polymers,
    knife_gap,
    quench_liquid,
    quench_dmf_setpoint,
    pump_speeds,
    vessel_charge,
    dope_inventory,
    safe_end,
    dosing_end,
    heaters_end,
    casting_interlocks,
    production_running,
    seed001_polymer,
    seed001_two_fluids,
    seed001_cooling,
    seed001_pressure,
    gas_pressure_factor,
    gas_off_first,
    ratio_matches_materials,
    output_owner,
)


def check_all(facts: RecipeFacts) -> list[RecipeError]:
    """Every rule's findings, in rule order."""
    return [error for rule in RULES for error in rule(facts)]
