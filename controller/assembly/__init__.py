"""Building a line: plant files (which transport reaches which device) and the one
assembly point that turns (line kind or plant file, recipe, clock, recorder) into an engine."""
