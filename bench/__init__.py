"""Benchmarks of the autoscale services: `python -m bench` (see bench/__main__.py)."""
