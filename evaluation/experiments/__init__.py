"""One-off experiments whose figures are quoted in RESULTS.md ("tried"); rerun them to check."""
