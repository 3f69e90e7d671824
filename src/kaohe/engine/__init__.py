"""The scoring engine: a scheme compiled once into Polars expressions, run over a whole table."""
