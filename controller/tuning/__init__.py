"""Loop commissioning: bump tests on the simulator, FOPDT fits and SIMC PI settings."""

from controller.tuning.bump_test import BumpTestError, BumpTestResult, bump_test
from controller.tuning.simc import FopdtModel, PiTuning, fit_fopdt, simc_pi

__all__ = ["BumpTestError", "BumpTestResult", "FopdtModel", "PiTuning", "bump_test", "fit_fopdt", "simc_pi"]
