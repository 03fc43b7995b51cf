"""The extruder screw model (simulator.physics.screw) against hand calculations
(Tadmor & Gogos 2006 §6.3/§9.2; Rauwendaal 2014 ch. 7), issue 12 item 1."""

from __future__ import annotations

import math

import pytest

from simulator.physics import screw


def test_shaft_power_of_the_metering_section_at_one_operating_point_by_hand() -> None:
    """30 mm screw, square pitch, metering 3.5 mm deep and 180 mm long, 3 mm flights with
    0.1 mm clearance, 60 rpm against 200 bar, μ = 2000 Pa·s in the channel and 500 Pa·s in
    the clearance. Every step written out; the model is only called at the end."""
    d, h, length, e, delta = 0.030, 0.0035, 0.180, 0.003, 0.0001
    theta = math.atan(1.0 / math.pi)  # 17.657°
    cos_t, sin_t = math.cos(theta), math.sin(theta)  # 0.95289, 0.30332
    width = (math.pi * d * math.tan(theta) - e) * cos_t  # (0.030 − 0.003)·0.95289 = 0.025728 m
    z = length / sin_t  # 0.59344 m of channel (and of flight)
    v_b = math.pi * d * 60.0 / 60.0  # 0.094248 m/s
    v_bz, v_bx = v_b * cos_t, v_b * sin_t  # 0.089808, 0.028587 m/s
    ratio = h / width
    f_d = 16.0 / (math.pi**3 * ratio) * sum(math.tanh(i * math.pi * ratio / 2.0) / i**3 for i in range(1, 20001, 2))
    f_p = 1.0 - 192.0 * ratio / math.pi**5 * sum(math.tanh(i * math.pi / (2.0 * ratio)) / i**5 for i in range(1, 101, 2))
    assert f_d == pytest.approx(1.0 - 0.543 * ratio, abs=0.01)  # shallow-channel limits (T&G 6.3)
    assert f_p == pytest.approx(1.0 - 0.630 * ratio, abs=0.01)
    q_d = 0.5 * v_bz * width * h * f_d  # F_d = 0.926: 3.745e-6 m³/s (3.74 cm³/rev)
    dp = 200.0e5
    q_p = width * h**3 / (12.0 * 2000.0 * z) * dp * f_p  # F_p = 0.914: 1.416e-6 m³/s
    r = q_p / q_d
    channel_w = 2000.0 * width * z / h * (v_bz**2 * (1.0 + 3.0 * r * r) + 4.0 * v_bx**2)
    flight_w = 500.0 * v_b**2 * e * z / delta
    work_w = (q_d - q_p) * dp
    # r = 0.378; 129.1 + 79.1 + 46.6 = 254.7 W: the metering section takes ~0.25 kW of the
    # drive, the rest (~1.3 kW at 10 kg/h) goes into melting
    assert r == pytest.approx(0.378, abs=0.001)
    assert channel_w == pytest.approx(129.1, rel=0.001)
    assert flight_w == pytest.approx(79.07, rel=0.001)
    assert work_w == pytest.approx(46.58, rel=0.001)

    geometry = screw.ScrewGeometry(diameter_m=d, metering_depth_m=h, metering_length_m=length,
                                   helix_angle_rad=theta, flight_width_m=e, flight_clearance_m=delta)
    power = screw.metering_power(geometry, 60.0, dp, 2000.0, 500.0)
    assert power.channel_dissipation_w == pytest.approx(channel_w, rel=1e-6)
    assert power.flight_dissipation_w == pytest.approx(flight_w, rel=1e-9)
    assert power.pressure_work_w == pytest.approx(work_w, rel=1e-6)
    assert power.shaft_w == pytest.approx(channel_w + flight_w + work_w, rel=1e-6)
    # flat-plate check (F_d = F_p = 1): the barrel's drag power μWZ/H·[V_bz²(1 + 3r) + 4V_bx²]
    # is the dissipation plus the pressure work Q·ΔP, Q = W·H·V_bz·(1 − r)/2, ΔP = 6μV_bz·r·Z/H²
    drag_w = 2000.0 * width * z / h * (v_bz**2 * (1.0 + 3.0 * r) + 4.0 * v_bx**2)
    dissipation_w = 2000.0 * width * z / h * (v_bz**2 * (1.0 + 3.0 * r * r) + 4.0 * v_bx**2)
    flat_work_w = width * h * v_bz * (1.0 - r) / 2.0 * 6.0 * 2000.0 * v_bz * r * z / h**2
    assert drag_w == pytest.approx(dissipation_w + flat_work_w, rel=1e-12)


def test_plastication_and_specific_energy_by_hand() -> None:
    # PSU 20 -> 340 °C: 1.2 kJ/(kg K) to Tg 185 °C, 2.0 above: 198 + 310 = 508 kJ/kg
    h = screw.polymer_enthalpy_j_kg(340.0, 185.0, 1200.0, 2000.0)
    assert h == pytest.approx(1200.0 * 165.0 + 2000.0 * 155.0)
    assert screw.temperature_from_enthalpy_c(h, 185.0, 1200.0, 2000.0) == pytest.approx(340.0)
    # 10 kg/h, 80 % from the drive: 0.8 x 2.778e-3 kg/s x 508 kJ/kg = 1129 W
    plast_w = screw.plastication_power_w(10.0 / 3600.0, h)
    assert plast_w == pytest.approx(0.8 * 10.0 / 3600.0 * 508000.0)
    # plus ~0.25 kW in metering: 1.38 kW / 10 kg/h = 0.138 kWh/kg (0.1-0.3 for a real line)
    assert screw.specific_energy_kwh_kg(plast_w + 255.0, 10.0 / 3600.0) == pytest.approx(0.138, abs=0.001)
    # torque of rated: 1.38 kW at 60 rpm against 7.5 kW at 150 rpm -> 46 %
    assert screw.motor_load_pct(1384.0, 60.0, 7500.0, 150.0) == pytest.approx(100.0 * 1384.0 / 7500.0 * 150.0 / 60.0)


def test_zone_balance_closes_and_shear_heat_lifts_the_melt_above_the_barrel() -> None:
    flow, ua, cp_s, cp_m = 10.0 / 3600.0, 13.0, 1200.0, 2000.0
    h_in = screw.polymer_enthalpy_j_kg(338.0, 185.0, cp_s, cp_m)
    h_out = screw.zone_outlet_enthalpy_j_kg(h_in, flow, ua, 340.0, 220.0, 185.0, cp_s, cp_m)
    t_out = screw.temperature_from_enthalpy_c(h_out, 185.0, cp_s, cp_m)
    # ṁ·Δh = hA·(T_b − T_out) + P: (5.556·338 + 13·340 + 220)/(5.556 + 13) = 351.3 °C
    assert t_out == pytest.approx((flow * cp_m * 338.0 + ua * 340.0 + 220.0) / (flow * cp_m + ua), rel=1e-9)
    assert t_out == pytest.approx(351.3, abs=0.1)
    assert flow * (h_out - h_in) == pytest.approx(ua * (340.0 - t_out) + 220.0, rel=1e-9)
    # the wiped barrel (penetration theory): h = 2·sqrt(k·ρ·c_p·N/(60·π)) = 765 W/(m²·K) at 60 rpm
    assert screw.wiped_barrel_heat_transfer_w_m2_k(60.0, 0.2, 1150.0, 2000.0, 0.0035) == pytest.approx(
        2.0 * math.sqrt(0.2 * 1150.0 * 2000.0 / math.pi), rel=1e-9)
    assert screw.wiped_barrel_heat_transfer_w_m2_k(0.0, 0.2, 1150.0, 2000.0, 0.0035) == pytest.approx(0.2 / 0.00175)
