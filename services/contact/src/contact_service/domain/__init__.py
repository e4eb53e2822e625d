"""Pure domain of the contact service: no I/O, no framework imports."""
