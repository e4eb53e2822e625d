"""Pure domain of the escalation service: no I/O, no framework imports."""
