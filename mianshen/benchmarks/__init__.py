"""Benchmarks of the matching path (`mianshen bench match` / `mianshen bench run`); see docs/benchmarks.md."""
