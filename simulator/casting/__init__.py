"""The simulated casting line (seeds 000 and 003)."""
