"""Capacity tooling for comprimemelo: locust scenarios, ramps, reports and the
compression benchmark. Run it as ``python -m capacity --help``; see README.md.
"""
