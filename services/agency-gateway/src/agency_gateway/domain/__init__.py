"""Pure domain of the agency-gateway service: no I/O, no framework imports.

- ``agencies``: the registry record and who may take new work;
- ``cursor``: the opaque cursor of incremental pulls;
- ``activities``: what an agency reports, its rules, and the violation a reported contact shows;
- ``permits``: the permit decision an agency is answered, failing closed;
- ``errors``: the errors the API answers.
"""
