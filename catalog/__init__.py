"""Persistent catalog of connections, pipelines, secrets and users (issue #3)."""
