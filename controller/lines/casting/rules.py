"""The casting line's process rules, from the seeds and from plant practice.

Rule ids: ``S000.*`` from seed 000 (anisotropic membranes from metastable dopes),
``S003.*`` from seed 003 (unsupported multilayer membranes), ``PHYS.*`` from
PHYSICS.md, ``EQ.*`` equipment capacity, ``LINE.*`` safe sequencing of the line.
Phase behaviour (binodal/spinodal) belongs to the simulator, not to these rules.
"""

from __future__ import annotations

from controller.lines.casting.recipe import CastingBlock, CastingRecipeSpec, DopeLayer
from controller.recipe.errors import RecipeError
from controller.recipe.model import LoopAction, LoopMode, RampAction, SetAction
from controller.recipe.rules import RecipeFacts, Rule, commanded_states
from simulator.physics import dope, film

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
# Knife coating: the knife passes U·H/2 plus the bead's pressure flow (Middleman 1977), the
# relation the simulator uses (simulator.physics.film): the film needs h >= H/2 and a bead
# head within the bead's height (PHYSICS.md's 0.5-0.9 × gap over the usual bead heights).
# assumption: an applicator without a temperature loop casts at the hall's 20 degC.
UNHEATED_APPLICATOR_C = 20.0

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


def _spec(facts: RecipeFacts) -> CastingRecipeSpec:
    if not isinstance(facts.spec, CastingRecipeSpec):
        raise TypeError(f"a casting recipe's spec, not {type(facts.spec).__name__}")
    return facts.spec


def _layers(facts: RecipeFacts) -> tuple[DopeLayer, ...]:
    """The layers that resolved (none when the block did not compile)."""
    return facts.block.layers if isinstance(facts.block, CastingBlock) else ()


def _layer_field(facts: RecipeFacts, layer: DopeLayer) -> str:
    return f"layers[{layer.index - 1}]"


# ----------------------------------------------------------------------- dope rules
def polysulfone_fraction(facts: RecipeFacts) -> list[RecipeError]:
    """S000.polymer_range (error) and S000.polymer_preferred (warning)."""
    out = []
    low, high = PSF_RANGE_WT_PCT
    plow, phigh = PSF_PREFERRED_WT_PCT
    for layer in _layers(facts):
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
    for i, layer in enumerate(_spec(facts).layers):
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
    for layer in _layers(facts):
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
    if len(_spec(facts).layers) < 2:
        return []
    return [
        RecipeError(f"layers[{i}].polymer", "S003.multilayer_polymer",
                    f"layer {i + 1}: {layer.polymer!r} in a multilayer membrane; seed 003 casts "
                    "multilayer unsupported membranes from nylon, PVDF or PES dopes")
        for i, layer in enumerate(_spec(facts).layers)
        if _norm(layer.polymer) not in SEED003_POLYMERS
    ]


def covered_applicator(facts: RecipeFacts) -> list[RecipeError]:
    """S003.covered_applicator: a recipe that casts from a covered applicator (seed 003 claim 6,
    "filled and covered") runs only on a line whose applicator has a cover (equipment ``covered``)."""
    applicator = _spec(facts).applicator
    if applicator is None or not applicator.covered:
        return []
    knives = facts.line.devices_of_kind("casting_knife")
    if knives and knives[0].equipment.get("covered", 0.0) >= 1.0:
        return []
    name = knives[0].name if knives else "no applicator"
    return [RecipeError("applicator.covered", "S003.covered_applicator",
                        f"the recipe casts from a covered applicator (seed 003 claim 6: filled and covered), but "
                        f"this line's applicator ({name}) has no cover")]


def _casting_conditions(facts: RecipeFacts) -> tuple[float | None, float]:
    """(belt speed m/min, applicator temperature degC) commanded in the first production step
    (else after the last step); the speed falls back on the line_speed parameter."""
    states = commanded_states(facts.steps)
    chosen = next((state for step, state in zip(facts.steps, states, strict=True) if step.production),
                  states[-1] if states else None)
    speed = chosen.outputs.get(BELT) if chosen is not None else None
    if not speed:
        parameter = facts.parameters.get("line_speed")
        speed = parameter.value if parameter is not None else None
    temperature = UNHEATED_APPLICATOR_C
    loop = chosen.loops.get("applicator_temperature") if chosen is not None else None
    if loop is not None and loop.mode is LoopMode.AUTO and loop.setpoint is not None:
        temperature = loop.setpoint
    return speed, temperature


def _smallest_gap_um(wet_um: float, speed_m_min: float, viscosity_pa_s: float, land_m: float,
                     max_height_mm: float) -> float:
    """The narrowest gap whose bead stays within ``max_height_mm`` (bisection; the head
    needed falls as the gap opens)."""
    low, high = wet_um, 2.0 * wet_um
    for _ in range(60):
        middle = (low + high) / 2.0
        head = film.bead_head_for_film_pa(wet_um, middle, speed_m_min, viscosity_pa_s, land_m)
        if film.bead_height_mm(head, DOPE_DENSITY_KG_L * 1000.0) > max_height_mm:
            low = middle
        else:
            high = middle
    return high


def knife_gap(facts: RecipeFacts) -> list[RecipeError]:
    """PHYS.knife_gap: the knife lays the wet film at the planned speed: h >= H/2 (below it the
    bead runs dry) and the bead head it needs within the bead's height (above it the dope runs
    over the edges); one relation with the simulator (simulator.physics.film)."""
    knives = facts.line.devices_of_kind("casting_knife")
    if not knives:
        return []
    eq = knives[0].equipment
    land_m = eq.get("knife_land_mm", 2.0) / 1000.0
    max_height_mm = eq.get("bead_height_max_mm", 30.0)
    speed, temperature = _casting_conditions(facts)
    out = []
    for layer in _layers(facts):
        wet, gap = layer.wet_thickness_um, layer.gap_um
        field = f"{_layer_field(facts, layer)}.gap"
        if gap <= 0.0 or wet / gap < film.KNIFE_RATIO_COUETTE - 1e-9:
            out.append(RecipeError(field, "PHYS.knife_gap",
                                   f"layer {layer.index}: a {gap:g} um gap cannot lay a {wet:g} um wet film: the knife's "
                                   f"drag flow alone lays half its gap, so the gap must be at most {2 * wet:.0f} um "
                                   "(Middleman 1977)"))
            continue
        if speed is None or speed <= 0.0:
            continue
        viscosity = dope.dope_viscosity_pa_s(layer.polymer_wt_pct / 100.0, temperature)
        head = film.bead_head_for_film_pa(wet, gap, speed, viscosity, land_m)
        height = film.bead_height_mm(head, DOPE_DENSITY_KG_L * 1000.0)
        if height > max_height_mm:
            smallest = _smallest_gap_um(wet, speed, viscosity, land_m, max_height_mm)
            out.append(RecipeError(field, "PHYS.knife_gap",
                                   f"layer {layer.index}: a {wet:g} um wet film through a {gap:g} um gap at {speed:g} m/min "
                                   f"and {temperature:g} degC needs a {height:.0f} mm bead behind the knife, above its "
                                   f"{max_height_mm:g} mm: the dope would run over the edges; the gap must be "
                                   f"{smallest:.0f}-{2 * wet:.0f} um (knife relation of simulator.physics.film)"))
    return out


# ---------------------------------------------------------------------- quench rules
def quench_liquid(facts: RecipeFacts) -> list[RecipeError]:
    """S000.quench_missing, S000.quench_composition, S000.quench_dmf, S000.quench_surfactant."""
    q = _spec(facts).quench
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
    for layer in _layers(facts):
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
    for layer in _layers(facts):
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
    for layer in _layers(facts):
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


def _pump_address(pump: str) -> str:
    return f"{pump}.speed_setpoint_rpm"


BELT = "support_belt.line_speed_setpoint_m_min"


def safe_end(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.safe_end: the last step commands every dope pump that ran and the belt to 0."""
    if not facts.steps:
        return []
    last = facts.steps[-1]
    in_last = {ra.action.address: ra.action for ra in last.actions if isinstance(ra.action, (SetAction, RampAction))}
    must_stop = {_pump_address(layer.pump) for layer in _layers(facts)}
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


def casting_interlocks(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.belt_while_casting, LINE.gap_while_casting, LINE.gap_mismatch, LINE.pump_without_layer:
    checked on what is commanded after every step."""
    out: list[RecipeError] = []
    reported: set[tuple[str, str]] = set()  # (rule, pump): report the first step only

    def report(rule: str, pump: str, error: RecipeError) -> None:
        if (rule, pump) not in reported:
            reported.add((rule, pump))
            out.append(error)

    by_pump = {layer.pump: layer for layer in _layers(facts)}
    all_pumps = [d.name for d in facts.line.devices_of_kind("dope_pump")]
    for step, state in zip(facts.steps, commanded_states(facts.steps), strict=True):
        belt = state.outputs.get(BELT, 0.0)
        for pump in all_pumps:
            speed = state.outputs.get(_pump_address(pump), 0.0)
            if speed <= 0.0:
                continue
            layer = by_pump.get(pump)
            if layer is None and pump not in {spec_layer.pump for spec_layer in _spec(facts).layers}:
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
    states = commanded_states(facts.steps)
    for step, state in zip(facts.steps, states, strict=True):
        if not step.production:
            continue
        if state.outputs.get(BELT, 0.0) <= 0.0:
            out.append(RecipeError(f"{step.field}.production", "LINE.production_running",
                                   f"step {step.name} is marked production but the belt is not commanded to run"))
        for layer in _layers(facts):
            if state.outputs.get(_pump_address(layer.pump), 0.0) <= PRIMING_MAX_RPM:
                out.append(RecipeError(f"{step.field}.production", "LINE.production_running",
                                       f"step {step.name} is marked production but {layer.pump} (layer "
                                       f"{layer.index}) is not commanded above priming speed"))
    if facts.steps and not any(s.production for s in facts.steps):
        out.append(RecipeError("procedure", "PROC.no_production",
                               "no step is marked production: true (the batch report counts nothing)", "warning"))
    return out


RULES: tuple[Rule, ...] = (
    polysulfone_fraction,
    known_materials,
    dope_composition,
    multilayer_polymers,
    covered_applicator,
    knife_gap,
    quench_liquid,
    quench_dmf_setpoint,
    pump_speeds,
    vessel_charge,
    dope_inventory,
    safe_end,
    dosing_end,
    casting_interlocks,
    production_running,
)
