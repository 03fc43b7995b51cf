"""Dope temperature along its path: vessel → pump head → filter → feed line → applicator →
support, each a heated zone (seed 000: a titrated dope must not cool across the spinodal on
its way to the knife; Example I preheats the plate to the casting temperature).

Each zone is two lumps: its wall (heat capacity C_w, heater P·u, loss L to the hall, U to
the dope) and the dope it holds (C_d = holdup·ρ·c_p, well mixed, fed at ṁ from the zone
upstream):

    C_w·dT_w/dt = P − L·(T_w − T_a) − U·(T_w − T_d)
    C_d·dT_d/dt = ṁ·c_p·(T_in − T_d) + U·(T_w − T_d)

solved by backward Euler (unconditionally stable: a pump head's few cm³ of dope have a
time constant below a second). At steady state the dope leaves at
T_d = (ṁ·c_p·T_in + U·T_w)/(ṁ·c_p + U): the estimate the controller makes from the
measured wall temperatures and the metered flow. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable


def zone_step_c(wall_c: float, dope_c: float, dt_s: float, wall_heat_capacity_j_k: float,
                dope_heat_capacity_j_k: float, heater_w: float, loss_ua_w_k: float, dope_ua_w_k: float,
                flow_heat_w_k: float, inlet_c: float, ambient_c: float) -> tuple[float, float]:
    """(wall, dope) temperatures after ``dt_s`` (backward Euler on the two-lump balance)."""
    cw = wall_heat_capacity_j_k / dt_s
    cd = dope_heat_capacity_j_k / dt_s
    a11 = cw + loss_ua_w_k + dope_ua_w_k
    a12 = -dope_ua_w_k
    a21 = -dope_ua_w_k
    a22 = cd + flow_heat_w_k + dope_ua_w_k
    b1 = cw * wall_c + heater_w + loss_ua_w_k * ambient_c
    b2 = cd * dope_c + flow_heat_w_k * inlet_c
    det = a11 * a22 - a12 * a21
    return (b1 * a22 - a12 * b2) / det, (a11 * b2 - a21 * b1) / det


def steady_dope_outlet_c(wall_c: float, inlet_c: float, dope_ua_w_k: float, flow_heat_w_k: float) -> float:
    """Dope leaving a well-mixed zone at steady state: (ṁc_p·T_in + U·T_w)/(ṁc_p + U);
    standing dope (no flow) takes the wall temperature."""
    if flow_heat_w_k <= 0.0:
        return wall_c
    return (flow_heat_w_k * inlet_c + dope_ua_w_k * wall_c) / (flow_heat_w_k + dope_ua_w_k)


def predicted_path_temperatures_c(vessel_c: float, zones: Iterable[tuple[float, float]], flow_heat_w_k: float,
                                  support_c: float | None) -> list[float]:
    """The dope's temperature leaving each zone (``zones``: (wall °C, dope-side UA W/K) in
    flow order) and, last, on the support (assumption: a 250 µm film takes the support's
    temperature within h²/α ≈ 0.5 s, α ≈ 1e-7 m²/s for DMF solutions, long before the bath)."""
    temperatures = []
    t = vessel_c
    for wall_c, ua in zones:
        t = steady_dope_outlet_c(wall_c, t, ua, flow_heat_w_k)
        temperatures.append(t)
    if support_c is not None:
        temperatures.append(support_c)
    return temperatures
