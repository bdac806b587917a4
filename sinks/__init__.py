"""Kafka sinks: options, producer, partitioners, transactions and metrics (issue #4)."""
