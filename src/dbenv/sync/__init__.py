"""Sync between environments: profiles, masking, subsets, COPY streaming, dump/restore/clone.

``dbenv.commands.sync`` holds the verbs; the modules here do one job each.
"""
