"""Only changed values are published, a process value once it left its deadband."""

from __future__ import annotations

from controller.scada.facade import _MISSING, changed


def test_a_value_inside_its_deadband_is_not_republished_a_status_change_always_is() -> None:
    assert changed(_MISSING, (20.0, None), 0.4)  # the first value
    assert not changed((20.0, None), (20.3, None), 0.4)  # noise
    assert changed((20.0, None), (20.5, None), 0.4)
    assert changed((20.0, None), (19.5, None), 0.4)
    assert changed((20.0, None), (20.1, "UncertainLastUsableValue"), 0.4)  # quality changed
    assert not changed((True, None), (True, None), 0.0) and changed((True, None), (False, None), 0.0)
    assert changed((20.0, None), (20.01, None), 0.0)  # no deadband: any change
