"""Shared runtime of the collections platform services."""
