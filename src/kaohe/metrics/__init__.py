"""Metrics from raw chat and order logs (docs/metrics.md), written once in Ibis."""
