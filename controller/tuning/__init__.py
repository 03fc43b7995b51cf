"""Loop commissioning: bump tests on the simulator, FOPDT fits and SIMC PI settings."""
