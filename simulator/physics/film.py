"""Casting knife / slot applicator: wet-film thickness, per-layer mass balance and the
Newtonian pressure drops that set a dope pump's discharge pressure.

Pure functions, units in the names.

Knife wet-film ratio
--------------------
Under a knife at gap H over a belt moving at U, lubrication theory splits the flow per
unit width into a drag (Couette) part U·H/2 and a pressure-driven part from the dope pool
in front of the knife, H³·Δp/(12·μ·L) (Middleman, *Fundamentals of Polymer Processing*,
1977, ch. 8 on knife/blade coating). The wet film is therefore h = H/2 + H³Δp/(12μLU):
½ gap plus a share that shrinks as the belt speeds up. PHYSICS.md gives the observed
range, 0.5–0.9 × gap falling towards ½ gap at higher speed. The function used is a smooth
stand-in with those limits:

    h/H = 0.5 + 0.4·exp(−U/U_c),  U_c = 1.5 m/min

# assumption: U_c = 1.5 m/min puts the ratio at 0.61 at the 2 m/min of the PHYSICS.md
# example, mid-range; the pool head and dope viscosity that set it are not known.
"""

from __future__ import annotations

import math

CM3_PER_M3: float = 1.0e6
SECONDS_PER_MINUTE: float = 60.0

KNIFE_RATIO_HIGH_SPEED: float = 0.5  # Couette limit, h = H/2 (Middleman 1977)
KNIFE_RATIO_SPAN: float = 0.4  # up to 0.9 at low speed (PHYSICS.md range)
KNIFE_RATIO_SPEED_SCALE_M_MIN: float = 1.5  # assumption: see module docstring


def knife_film_ratio(line_speed_m_min: float) -> float:
    """Wet thickness / gap of a knife-metered film at this belt speed (0.9 at rest → 0.5)."""
    speed = line_speed_m_min if line_speed_m_min > 0.0 else 0.0
    return KNIFE_RATIO_HIGH_SPEED + KNIFE_RATIO_SPAN * math.exp(-speed / KNIFE_RATIO_SPEED_SCALE_M_MIN)


def knife_wet_thickness_um(gap_um: float, line_speed_m_min: float) -> float:
    """Film the knife lets through when it is fed more dope than it passes."""
    return gap_um * knife_film_ratio(line_speed_m_min)


def layer_flow_cm3_min(width_m: float, wet_thickness_um: float, line_speed_m_min: float) -> float:
    """Mass (volume) balance Q = W·h·U: m × µm × m/min = 1e-6 m³/min = 1 cm³/min."""
    return width_m * wet_thickness_um * line_speed_m_min


def layer_wet_thickness_um(flow_cm3_min: float, width_m: float, line_speed_m_min: float) -> float:
    """h = Q/(W·U), the pre-metered thickness a pump flow lays down; 0 on a stopped belt."""
    area_rate = width_m * line_speed_m_min  # underflows to 0 for a belt coasting to rest
    if line_speed_m_min <= 0.0 or width_m <= 0.0 or area_rate <= 0.0:
        return 0.0
    return flow_cm3_min / area_rate


def cast_wet_thickness_um(
    flow_cm3_min: float, width_m: float, line_speed_m_min: float, gap_um: float
) -> float:
    """Layer thickness actually cast: the pump's pre-metered film, capped by what the
    knife lets through (excess dope builds up as a bead in front of the knife)."""
    metered = layer_wet_thickness_um(flow_cm3_min, width_m, line_speed_m_min)
    knife = knife_wet_thickness_um(gap_um, line_speed_m_min)
    return metered if metered < knife else knife


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
