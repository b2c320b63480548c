"""Upgrades in place: a database written by the previous release, served by this one."""
