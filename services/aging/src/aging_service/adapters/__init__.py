"""Adapters: database tables and repositories."""
