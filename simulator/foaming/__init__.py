"""The simulated extrusion-foaming line (seed 001)."""
