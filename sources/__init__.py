"""Kafka sources: options, consumer, offsets and event time (issue #5)."""
