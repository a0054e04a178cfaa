"""Compute drivers: how a group's instances come to exist (local processes, OpenStack Nova)."""
