"""Pure physics models of the plant: functions of state, inputs and time step; no I/O."""
