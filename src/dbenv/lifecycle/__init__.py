"""Make, empty, rebuild and fill a disposable database.

Provision, reset (and the data-only reset), templates, seeds, flush.
"""
