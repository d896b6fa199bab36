"""Frozen, typed config models: one module per family, loaded by `ops.config`."""
