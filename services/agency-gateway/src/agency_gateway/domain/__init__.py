"""Pure domain of the agency-gateway service: no I/O, no framework imports."""
