"""Monitoring: watched targets, what changed between runs, and the alerts about it."""
