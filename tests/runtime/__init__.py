"""Crash-safety, poison, outage and redelivery tests of the event runtime, with real processes."""
