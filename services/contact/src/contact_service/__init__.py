"""The contact service: treatment plans and contacts under one compliance policy."""
