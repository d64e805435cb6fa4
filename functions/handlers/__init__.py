"""Lambda entry points, one module per function; each holds no logic of its own."""
