"""Pure domain of the escalation service (DOMAIN.md section 6): no I/O, no framework imports.

- ``rules``: the rules file (YAML, validated with pydantic at start) and its settings;
- ``episodes``: delinquency episodes and which stages a change enters;
- ``evaluator``: one event and the account's facts in, decisions out (each naming its rule,
  trigger and facts, with an idempotency key), closes on a cure;
- ``placement``: agency eligibility and ranking, recovery rate, recall and expiry;
- ``restructuring``: offers, instalment schedules, accept/decline/expire, the agreed event;
- ``visits``: home visits per seed 003;
- ``legal``: legal files and their dated steps;
- ``letters``: demand letters (art. 69) to HTML and PDF;
- ``errors``: the error tree (``DomainRuleViolation`` is what the API answers with 422).
"""
