"""Shared pytest fixtures: the simulated site (simsite/fixtures.py) and friends."""
pytest_plugins = ["simsite.fixtures"]
