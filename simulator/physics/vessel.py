"""Jacketed dope vessel: two-node heat balance (dope + vessel wall, jacket fluid).

    C_d·dT_d/dt = UA_j·(T_j − T_d) − UA_d·(T_d − T_amb)
    C_j·dT_j/dt = P_heat − UA_j·(T_j − T_d) − UA_ja·(T_j − T_amb) − G_cool·(T_j − T_cw)

The jacket temperature-control unit has a split-range output u = −100..100 % of
``jacket_power_kw``: u > 0 drives the electric heater (P_heat = u·P), u < 0 opens the
chilled-water valve, whose conductance is G_cool = |u|·P/ΔT_design (full cooling removes
P at ΔT_design above the coolant). The system is linear over a step, so it is
integrated exactly with the 2×2 matrix exponential (Putzer/Sylvester form): stable and
exact for any time step.

Inside heat transfer rises with agitation (Nusselt ∝ Re^(2/3) for agitated vessels,
Chilton, Drew & Jebens, Ind. Eng. Chem. 36 (1944) 510), so UA_j = UA_still +
(UA_full − UA_still)·(N/N_full)^(2/3).
"""

from __future__ import annotations

import math

# assumption: chilled water supply of a pilot temperature-control unit.
COOLANT_TEMPERATURE_C: float = 10.0
# assumption: full cooling removes the jacket's rated power at 25 K above the coolant.
COOLING_DESIGN_DT_K: float = 25.0


def jacket_split_range(output_pct: float, jacket_power_w: float) -> tuple[float, float]:
    """(heater power W, cooling conductance W/K) for a split-range output −100..100 %."""
    if output_pct >= 0.0:
        return jacket_power_w * output_pct / 100.0, 0.0
    return 0.0, jacket_power_w * (-output_pct) / 100.0 / COOLING_DESIGN_DT_K


def agitated_jacket_ua_w_k(ua_still_w_k: float, ua_full_w_k: float, agitator_speed_rpm: float,
                           full_speed_rpm: float) -> float:
    """UA dope↔jacket rising with agitator speed as (N/N_full)^(2/3), capped at full."""
    ratio = agitator_speed_rpm / full_speed_rpm
    if ratio <= 0.0:
        return ua_still_w_k
    if ratio >= 1.0:
        return ua_full_w_k
    return ua_still_w_k + (ua_full_w_k - ua_still_w_k) * ratio ** (2.0 / 3.0)


def linear_two_node_step(
    x1: float, x2: float, dt_s: float,
    a11: float, a12: float, a21: float, a22: float, b1: float, b2: float,
) -> tuple[float, float]:
    """Exact solution of dx/dt = A·x + b over dt for a 2×2 A with real eigenvalues
    (any heat network of two nodes: A has negative diagonal, positive off-diagonal)."""
    det = a11 * a22 - a12 * a21
    s1 = -(a22 * b1 - a12 * b2) / det  # steady state −A⁻¹·b
    s2 = -(-a21 * b1 + a11 * b2) / det
    e1 = x1 - s1
    e2 = x2 - s2
    half_trace = 0.5 * (a11 + a22)
    discriminant = half_trace * half_trace - det
    root = math.sqrt(discriminant) if discriminant > 0.0 else 0.0
    if root * dt_s > 1e-9:
        l1 = half_trace + root
        l2 = half_trace - root
        x_l1 = math.exp(l1 * dt_s)
        x_l2 = math.exp(l2 * dt_s)
        c0 = (l1 * x_l2 - l2 * x_l1) / (l1 - l2)
        c1 = (x_l1 - x_l2) / (l1 - l2)
    else:  # repeated eigenvalue: exp(At) = e^(λt)·(I + (A − λI)·t)
        x_l = math.exp(half_trace * dt_s)
        c0 = x_l * (1.0 - half_trace * dt_s)
        c1 = x_l * dt_s
    n1 = c0 * e1 + c1 * (a11 * e1 + a12 * e2)
    n2 = c0 * e2 + c1 * (a21 * e1 + a22 * e2)
    return s1 + n1, s2 + n2


def vessel_jacket_step(
    dope_temperature_c: float,
    jacket_temperature_c: float,
    dt_s: float,
    dope_heat_capacity_j_k: float,
    jacket_heat_capacity_j_k: float,
    jacket_ua_w_k: float,
    dope_loss_ua_w_k: float,
    jacket_loss_ua_w_k: float,
    ambient_c: float,
    heater_power_w: float,
    cooling_conductance_w_k: float,
    coolant_c: float = COOLANT_TEMPERATURE_C,
) -> tuple[float, float]:
    """(dope °C, jacket °C) after ``dt_s``. ``dope_heat_capacity_j_k`` includes the
    vessel wall, so it never vanishes when the vessel runs empty."""
    a11 = -(jacket_ua_w_k + dope_loss_ua_w_k) / dope_heat_capacity_j_k
    a12 = jacket_ua_w_k / dope_heat_capacity_j_k
    a21 = jacket_ua_w_k / jacket_heat_capacity_j_k
    a22 = -(jacket_ua_w_k + jacket_loss_ua_w_k + cooling_conductance_w_k) / jacket_heat_capacity_j_k
    b1 = dope_loss_ua_w_k * ambient_c / dope_heat_capacity_j_k
    b2 = (heater_power_w + jacket_loss_ua_w_k * ambient_c + cooling_conductance_w_k * coolant_c) / jacket_heat_capacity_j_k
    return linear_two_node_step(dope_temperature_c, jacket_temperature_c, dt_s, a11, a12, a21, a22, b1, b2)


def vessel_steady_state_c(
    jacket_ua_w_k: float, dope_loss_ua_w_k: float, jacket_loss_ua_w_k: float, ambient_c: float,
    heater_power_w: float, cooling_conductance_w_k: float, coolant_c: float = COOLANT_TEMPERATURE_C,
) -> tuple[float, float]:
    """(dope °C, jacket °C) at steady state (solves the two balances)."""
    return vessel_jacket_step(ambient_c, ambient_c, 1e12, 1.0, 1.0, jacket_ua_w_k, dope_loss_ua_w_k,
                              jacket_loss_ua_w_k, ambient_c, heater_power_w, cooling_conductance_w_k, coolant_c)
