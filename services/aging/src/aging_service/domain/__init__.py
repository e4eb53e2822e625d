"""Pure aging domain: no I/O, no framework imports."""
