"""Casting knife / slot applicator: wet-film thickness, per-layer mass balance and the
Newtonian pressure drops that set a dope pump's discharge pressure.

Pure functions, units in the names.

Knife and its bead
------------------
Under a knife at gap H over a belt moving at U, lubrication theory splits the flow per
unit width into a drag (Couette) part U·H/2 and a pressure-driven (Poiseuille) part from
the dope pool (bead) in front of the knife, H³·Δp/(12·μ·L) over the knife land L
(Middleman, *Fundamentals of Polymer Processing*, 1977, ch. 8 on knife/blade coating):

    q/W = U·H/2 + H³·Δp/(12·μ·L),   Δp = ρ·g·z  (z: bead height behind the knife)

This one relation is used by the simulator (what the knife passes from a bead of height
z) and by the recipe rule (the bead height a wet film h at gap H needs at the planned
speed: h/H ≥ ½, the Couette limit, and the head within the bead's overflow height). The
bead is a reservoir: dV/dt = Q_pump − q_knife(z) − Q_overflow, V = W·L_b·z; at steady
state the film is the metered one, h = Q/(W·U), and dope beyond the bead's height runs
over the edges into the catch pan. PHYSICS.md's observed 0.5–0.9 × gap is this relation
over the usual bead heights.
"""

from __future__ import annotations

import math

CM3_PER_M3: float = 1.0e6
SECONDS_PER_MINUTE: float = 60.0
GRAVITY_M_S2: float = 9.80665  # standard gravity (CGPM 1901)

KNIFE_RATIO_COUETTE: float = 0.5  # drag-flow limit h = H/2 of a knife with no bead head (Middleman 1977)


def knife_film_flow_cm3_min(gap_um: float, line_speed_m_min: float, width_m: float, head_pa: float,
                            viscosity_pa_s: float, land_length_m: float) -> float:
    """What the knife lets through: W·(U·H/2 + H³·Δp/(12·μ·L)) in cm³/min (0 for a closed gap)."""
    if gap_um <= 0.0 or width_m <= 0.0:
        return 0.0
    gap_m = gap_um * 1e-6
    speed_m_s = max(line_speed_m_min, 0.0) / SECONDS_PER_MINUTE
    pressure_flow = gap_m ** 3 * max(head_pa, 0.0) / (12.0 * viscosity_pa_s * land_length_m)
    return width_m * (speed_m_s * gap_m / 2.0 + pressure_flow) * CM3_PER_M3 * SECONDS_PER_MINUTE


def bead_head_for_film_pa(wet_thickness_um: float, gap_um: float, line_speed_m_min: float,
                          viscosity_pa_s: float, land_length_m: float) -> float:
    """Bead head Δp the knife needs to pass a film h at gap H and speed U:
    12·μ·L·U·(h − H/2)/H³ (negative: below the Couette limit, the bead runs dry)."""
    gap_m = gap_um * 1e-6
    speed_m_s = line_speed_m_min / SECONDS_PER_MINUTE
    return 12.0 * viscosity_pa_s * land_length_m * speed_m_s * (wet_thickness_um - gap_um / 2.0) * 1e-6 / gap_m ** 3


def bead_height_mm(head_pa: float, density_kg_m3: float) -> float:
    """z = Δp/(ρ·g)."""
    return head_pa / (density_kg_m3 * GRAVITY_M_S2) * 1000.0


def bead_step(volume_cm3: float, inflow_cm3_min: float, gap_um: float, line_speed_m_min: float, width_m: float,
              viscosity_pa_s: float, land_length_m: float, density_kg_m3: float, bead_length_m: float,
              max_height_m: float, dt_s: float) -> tuple[float, float, float]:
    """The bead behind the knife over ``dt_s``: (volume cm³, mean knife flow cm³/min, mean
    overflow cm³/min), with volume_end = volume + (inflow − knife − overflow)·dt exactly.

    dV/dt = a − b·V with a = Q_in − W·U·H/2 and b the knife's pressure-flow conductance
    per bead volume (linear in V: Δp = ρ·g·V/(W·L_b)); solved exactly over the step, the
    bead never below empty (a starved knife passes only the inflow) nor above its height
    (the excess runs over the edges)."""
    dt_min = dt_s / SECONDS_PER_MINUTE
    capacity_cm3 = width_m * bead_length_m * max_height_m * CM3_PER_M3
    couette = knife_film_flow_cm3_min(gap_um, line_speed_m_min, width_m, 0.0, viscosity_pa_s, land_length_m)
    # knife flow per cm³ of bead [1/min]: d q_knife / d V
    head_per_cm3 = density_kg_m3 * GRAVITY_M_S2 / (width_m * bead_length_m * CM3_PER_M3)
    b = (knife_film_flow_cm3_min(gap_um, 0.0, width_m, head_per_cm3, viscosity_pa_s, land_length_m)
         if gap_um > 0.0 else 0.0)
    a = inflow_cm3_min - couette
    if b > 0.0:
        steady = a / b
        end = steady + (volume_cm3 - steady) * math.exp(-b * dt_min)
    else:
        end = volume_cm3 + a * dt_min
    overflow = 0.0
    if end < 0.0:
        end = 0.0  # starved: the knife passes what comes in (and what was left)
    elif end > capacity_cm3:
        end_free = end
        end = capacity_cm3
        overflow = (end_free - capacity_cm3) / dt_min if dt_min > 0.0 else 0.0
    knife = inflow_cm3_min - overflow - ((end - volume_cm3) / dt_min if dt_min > 0.0 else 0.0)
    return end, max(knife, 0.0), overflow


def layer_flow_cm3_min(width_m: float, wet_thickness_um: float, line_speed_m_min: float) -> float:
    """Mass (volume) balance Q = W·h·U: m × µm × m/min = 1e-6 m³/min = 1 cm³/min."""
    return width_m * wet_thickness_um * line_speed_m_min


def layer_wet_thickness_um(flow_cm3_min: float, width_m: float, line_speed_m_min: float) -> float:
    """h = Q/(W·U), the pre-metered thickness a pump flow lays down; 0 on a stopped belt."""
    area_rate = width_m * line_speed_m_min  # underflows to 0 for a belt coasting to rest
    if line_speed_m_min <= 0.0 or width_m <= 0.0 or area_rate <= 0.0:
        return 0.0
    return flow_cm3_min / area_rate


def slot_resistance_per_m3(land_length_m: float, width_m: float, gap_m: float) -> float:
    """K = 12·L/(W·H³) [1/m³]; ΔP = μ·K·Q for a Newtonian slot (plane Poiseuille flow;
    PHYSICS.md, slit-die pressure drop, Newtonian case)."""
    return 12.0 * land_length_m / (width_m * gap_m * gap_m * gap_m)


def pipe_resistance_per_m3(length_m: float, diameter_m: float) -> float:
    """K = 128·L/(π·D⁴) [1/m³]; ΔP = μ·K·Q (Hagen–Poiseuille)."""
    return 128.0 * length_m / (math.pi * diameter_m ** 4)


def slot_pressure_drop_pa(
    viscosity_pa_s: float, land_length_m: float, flow_m3_s: float, width_m: float, gap_m: float
) -> float:
    """ΔP = 12·μ·L·Q/(W·H³)."""
    return viscosity_pa_s * slot_resistance_per_m3(land_length_m, width_m, gap_m) * flow_m3_s


def flow_cm3_min_to_m3_s(flow_cm3_min: float) -> float:
    return flow_cm3_min / (CM3_PER_M3 * SECONDS_PER_MINUTE)
