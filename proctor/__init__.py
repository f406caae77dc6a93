"""Proctor's composition root: settings, adapters, the CLI and the process supervisor.

Nothing imports this package except entry points (the CLI, flows, the demo, benchmarks, tests).
"""
