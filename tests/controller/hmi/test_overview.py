"""The line overview: every device of the line in process order (derived from the line kind),
values in display units rounded to their resolution, the unit's status above, the quality
estimates in their own panel; live over Server-Sent Events."""

from __future__ import annotations

import re
from collections.abc import Iterator

import api_support
import pytest
from hmi_support import HmiSession, database_url, start_client

PROCESS_ORDER = {
    "casting": ["dope_vessel_1", "dope_vessel_2", "dope_pump_1", "dope_pump_2", "casting_knife", "support_belt",
                "quench_bath", "wash_bath", "dryer"],
    "foaming": ["extruder", "co2_pump", "water_pump", "melt_pump_1", "heat_exchanger", "melt_pump_2", "die"],
}
# a tag of each display unit per line, with the number of decimals it shows
SHOWN = {
    "casting": {"quench_bath.temperature_c": ("°C", 1), "support_belt.line_speed_m_min": ("m/min", 2),
                "dope_pump_1.speed_rpm": ("rpm", 1), "quench_bath.level_pct": ("%", 1),
                "dope_pump_1.discharge_pressure_bar": ("bar", 1)},
    "foaming": {"extruder.melt_pressure_bar": ("bar", 1), "extruder.screw_speed_rpm": ("rpm", 1)},
}


@pytest.fixture(scope="module", params=sorted(PROCESS_ORDER))
def viewer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, HmiSession]]:
    kind = request.param
    root = tmp_path_factory.mktemp(kind)
    for client in start_client(root, kind):
        api_support.cli_user(database_url(root), "view", "viewer")
        yield kind, HmiSession.signed_in(client, "view")


def row(html: str, address: str) -> tuple[str, str]:
    found = re.search(rf'data-tag="{re.escape(address)}">\s*<th scope="row">[^<]*</th>\s*'
                      r'<td class="value">([^<]*)</td><td class="unit">([^<]*)</td>', html)
    assert found is not None, f"no row for {address}"
    return found.group(1), found.group(2)


def test_the_overview_draws_every_device_in_process_order(viewer: tuple[str, HmiSession]) -> None:
    kind, view = viewer
    page = view.get("/")
    assert page.status_code == 200, page.text
    assert re.findall(r'data-device="([a-z0-9_]+)"', page.text) == PROCESS_ORDER[kind]


def test_values_show_with_display_units_rounded_to_their_resolution(viewer: tuple[str, HmiSession]) -> None:
    kind, view = viewer
    page = view.get("/").text
    for address, (unit, decimals) in SHOWN[kind].items():
        value, shown_unit = row(page, address)
        assert shown_unit == unit, address
        assert re.fullmatch(rf"-?\d+\.\d{{{decimals}}}", value), f"{address}: {value!r}"


# a measurement of each line with the setpoint tag shown beside it
PAIRED = {"casting": ("dope_pump_1.speed_rpm", "dope_pump_1.speed_setpoint_rpm"),
          "foaming": ("extruder.zone_1_temperature_c", "extruder.zone_1_setpoint_c")}


def test_a_measurement_shows_its_setpoint_beside_it_and_the_setpoint_is_not_listed_again(
        viewer: tuple[str, HmiSession]) -> None:
    kind, view = viewer
    page = view.get("/").text
    measured, setpoint = PAIRED[kind]
    found = re.search(rf'data-tag="{re.escape(measured)}">.*?</tr>', page, re.DOTALL)
    assert found is not None and f'data-tag="{setpoint}"' in found.group(0) and ">SP</abbr>" in found.group(0)
    assert page.count(f'data-tag="{setpoint}"') == 1


def test_the_unit_status_and_the_quality_estimates_panel_are_shown(viewer: tuple[str, HmiSession]) -> None:
    _, view = viewer
    page = view.get("/").text
    assert 'data-state="Idle"' in page and "Production" in page  # PackML state and mode
    assert "Quality estimates (computed by the controller)" in page


def test_the_event_stream_sends_the_page_parts_then_the_status_as_the_line_clock_moves(viewer: tuple[str, HmiSession]) -> None:
    _, view = viewer
    events = view.get("/hmi/events?page=overview&max_events=3&interval_s=0.2").text
    names = re.findall(r"^event: (\w+)$", events, re.MULTILINE)
    assert names[:4] == ["banner", "status", "schematic", "derived"]
    assert names.count("status") >= 2  # the line clock moves
    assert 'data-device="' in events and 'data-state="Idle"' in events
