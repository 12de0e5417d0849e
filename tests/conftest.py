"""Shared pytest fixtures: the simulated site (tests/simsite/fixtures.py) and friends."""
pytest_plugins = ["tests.simsite.fixtures"]
