"""Pure domain of the contact service: no I/O, no framework imports.

- ``contact``: channels, outcomes (connected / unanswered), parties, contact points, stop flags.
- ``localtime``: the debtor's local day and hours in an IANA timezone, DST-correct.
- ``packs``: the compliance rule packs (``cn-seed``, ``cn-2026``, ``us-regf``) as data.
- ``compliance``: ``decide`` a permit request; ``history_window`` and ``lock_key`` for the reservation.
- ``reachability``: when a debtor is unreachable.
- ``case``: one case per debtor; what cancels pending contacts and call tasks.
- ``plans``: treatment-plan steps and the contacts they schedule (loading: ``contact_service.plans``).
- ``promises``: promises to pay, kept or broken at the close of their date.
- ``priority``: the call-task score and order.
- ``money``: minor units formatted per currency.
"""
