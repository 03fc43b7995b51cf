"""The systemd units in deploy/systemd pass `systemd-analyze verify` and carry the settings
a plant's IT expects of a control service (notify, watchdog, restart, hardening)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import DEPLOY

UNITS = DEPLOY / "systemd"
VENV = Path(sys.executable).parent.parent


def unit_settings(name: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_the_units_verify(tmp_path: Path) -> None:
    for name in ("poreline-line@.service", "poreline-api.service"):
        text = (UNITS / name).read_text(encoding="utf-8").replace("/opt/poreline/.venv", str(VENV))
        (tmp_path / name).write_text(text, encoding="utf-8")
    shutil.copy(tmp_path / "poreline-line@.service", tmp_path / "poreline-line@casting-1.service")
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", "./poreline-line@casting-1.service",
                             "./poreline-api.service"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "poreline-line" not in result.stderr and "poreline-api" not in result.stderr, result.stderr


def test_the_runtime_unit_is_a_watched_hardened_notify_service() -> None:
    line = unit_settings("poreline-line@.service")
    assert (line["Type"], line["Restart"], line["KillSignal"]) == ("notify", "on-failure", "SIGTERM")
    assert float(line["WatchdogSec"]) >= 3.0  # the scan loop pings about once a second
    for setting, value in (("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
                           ("User", "poreline")):
        assert line[setting] == value
    assert line["StateDirectory"].startswith("poreline/")
    assert int(line["Nice"]) < 0 and int(line["CPUWeight"]) > 100  # the scan before its clients
    assert "line run --line-id %i" in line["ExecStart"]
    api = unit_settings("poreline-api.service")
    assert api["User"] == line["User"]  # the API reads the runtime's channel key
    assert (api["ProtectSystem"], api["NoNewPrivileges"]) == ("strict", "yes")
