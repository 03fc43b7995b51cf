"""The foaming line's process rules: seed 001 (``S001.*``), PHYSICS.md (``PHYS.gas_factor``)
and safe sequencing (``LINE.gas_off_first``)."""

from __future__ import annotations

from controller.lines.foaming.recipe import FoamingBlock, normalised_name
from controller.recipe.errors import RecipeError
from controller.recipe.model import LoopAction, LoopMode
from controller.recipe.rules import RecipeFacts, ResolvedStep, Rule, commanded_states
from simulator.physics import gas, materials
from simulator.physics.gas import DiffusivityRecord

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
# where no barrel-zone setpoint gives the melt temperature: the diffusivity records'
# reference, 200 °C (simulator.physics.gas, Sato et al.)
SEED001_REFERENCE_MELT_C = 200.0
GAS_PRESSURE_FACTOR_RANGE = (1.2, 1.5)  # PHYSICS.md: inject while P > 1.2-1.5 x P_min
# assumption: two fluids "have different diffusion rates" (claim 6) when one diffuses at
# least 20 % faster than the other in the melt; the diffusivities in the material data are
# order-of-magnitude values (simulator.physics.gas), so a smaller difference is no difference.
MIN_DIFFUSION_RATE_RATIO = 1.2


def _agent_record(name: str) -> DiffusivityRecord | None:
    return materials.blowing_agent_diffusivity(name)


def seed001_polymer(facts: RecipeFacts) -> list[RecipeError]:
    """S001.polymer: the polymer is one of seed 001's (claim 11); EQ.melt_data: the
    simulator and soft sensors have melt data for it (PSU, PES)."""
    block = facts.block
    if not isinstance(block, FoamingBlock):
        return []
    polymer = block.polymer
    if normalised_name(polymer) not in SEED001_POLYMERS:
        return [RecipeError("materials.polymer", "S001.polymer",
                            f"polymer {polymer!r} is not in seed 001's list (claim 11: cellulose derivatives, "
                            "polyolefins, polyesters, polysulfones, polyethersulfones, polyamides)")]
    if not materials.has_melt_data(polymer):
        return [RecipeError("materials.polymer", "EQ.melt_data",
                            f"no melt data for {polymer!r} on this line (known: PSU, PES)")]
    return []


def seed001_two_fluids(facts: RecipeFacts) -> list[RecipeError]:
    """S001.two_fluids: at least two cell-forming fluids of different diffusion rates (claim 6)."""
    block = facts.block
    if not isinstance(block, FoamingBlock):
        return []
    agents = block.blowing_agents
    records = [_agent_record(a.name) for a in agents if a.wt_pct > 0.0]
    unknown = [a.name for a in agents if _agent_record(a.name) is None]
    if unknown:
        return [RecipeError("materials.blowing_agents", "S001.two_fluids",
                            f"no metering pump or diffusion data for {', '.join(unknown)} (this line meters CO2 and water)")]
    names = [a.name for a in agents if a.wt_pct > 0.0]
    if len(names) < 2:
        return [RecipeError("materials.blowing_agents", "S001.two_fluids",
                            "seed 001 (claim 6) charges the melt with at least two fluids of different diffusion "
                            f"rates (e.g. CO2 and water); this recipe has {', '.join(names) or 'none'}")]
    temperature_c = _initial_processing_c(facts)
    temperature_k = (temperature_c if temperature_c is not None else SEED001_REFERENCE_MELT_C) + 273.15
    rates = [gas.diffusivity_m2_s(r, temperature_k) for r in records if r is not None]
    if max(rates) < MIN_DIFFUSION_RATE_RATIO * min(rates):
        listed = ", ".join(f"{name} {rate:.2g} m2/s" for name, rate in zip(names, rates, strict=True))
        return [RecipeError("materials.blowing_agents", "S001.two_fluids",
                            "seed 001 (claim 6) charges the melt with fluids of different diffusion rates; in the "
                            f"melt at {temperature_k - 273.15:g} degC the material data give {listed} (less than "
                            f"{MIN_DIFFUSION_RATE_RATIO:g} x apart)")]
    return []


def _initial_processing_c(facts: RecipeFacts) -> float | None:
    """The initial processing temperature: the highest barrel-zone setpoint (claim 6 charges
    the cell former at it, claim 7 cools from it); None without one."""
    processing = [ra.action.setpoint for s in facts.steps for ra in s.actions
                  if isinstance(ra.action, LoopAction) and ra.action.loop.startswith("barrel_zone_")
                  and ra.action.setpoint is not None]
    return max(processing) if processing else None


def _production_loops(facts: RecipeFacts) -> list[tuple[ResolvedStep, dict[str, LoopAction]]]:
    states = commanded_states(facts.steps)
    return [(step, state.loops) for step, state in zip(facts.steps, states, strict=True) if step.production]


def seed001_cooling(facts: RecipeFacts) -> list[RecipeError]:
    """S001.cooling: in production the exchanger cools the melt at least 50 °C below the
    initial processing temperature (the highest barrel-zone setpoint; claim 7)."""
    initial_c = _initial_processing_c(facts)
    if initial_c is None:
        return [RecipeError("procedure", "S001.cooling", "no barrel-zone setpoint: the initial processing "
                            "temperature is unknown")]
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
    factor = facts.parameters.get("gas_pressure_factor")
    low, high = GAS_PRESSURE_FACTOR_RANGE
    if factor is None or not low <= factor.value <= high:
        return [RecipeError("formula.gas_pressure_factor", "PHYS.gas_factor",
                            f"gas_pressure_factor must be given within {low:g}..{high:g} (gas is injected only while "
                            "the melt pressure is that factor above the single-phase minimum)")]
    return []


def die_pressure_factor(facts: RecipeFacts) -> list[RecipeError]:
    """PHYS.die_factor: the die-pressure interlock's factor on P_min at the die, when given,
    lies within 1.2-1.5 (else the gas factor is used)."""
    factor = facts.parameters.get("die_pressure_factor")
    low, high = GAS_PRESSURE_FACTOR_RANGE
    if factor is not None and not low <= factor.value <= high:
        return [RecipeError("formula.die_pressure_factor", "PHYS.die_factor",
                            f"die_pressure_factor must lie within {low:g}..{high:g} (the die pressure is held that "
                            "factor above the single-phase minimum at the die, so the gas stays dissolved up to "
                            "the lips)")]
    return []


def gas_off_first(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.gas_off_first: the procedure ends with gas, melt pumps and screw at 0, and the
    gas is off before (or in the same step as) the melt pumps stop."""
    if not facts.steps:
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
    for step, state in zip(facts.steps, states, strict=True):
        stopped = state.outputs.get("melt_pump_2.speed_setpoint_rpm", 0.0) == 0.0
        if stopped and any(state.outputs.get(a, 0.0) > 0.0 for a in gas):
            out.append(RecipeError(f"{step.field}.actions", "LINE.gas_off_first",
                                   f"step {step.name}: gas is metered while melt pump 2 is stopped; shut the gas "
                                   "off first"))
            break
    return out


RULES: tuple[Rule, ...] = (
    seed001_polymer,
    seed001_two_fluids,
    seed001_cooling,
    seed001_pressure,
    gas_pressure_factor,
    die_pressure_factor,
    gas_off_first,
)
