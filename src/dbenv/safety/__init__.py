"""The one door every destructive operation goes through.

The guard, its checks, the stamp, the journal, snapshots and the advisory lock.
"""
