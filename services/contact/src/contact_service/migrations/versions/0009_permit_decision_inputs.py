"""A permit decision takes the debtor's lock and reads its inputs in one call.

``permit_decision_inputs(customer, lock_key, start, end)`` takes the transaction-level advisory
lock ``lock_key`` and then reads the debtor's facts (case, accounts' flags, contact points, active
holds) and the allowed permits and inbound contacts with ``start <= at < end``, as one JSON
object. The function is VOLATILE, so its read takes a fresh snapshot after the lock is granted:
under READ COMMITTED it sees every decision committed before, as the separate lock and read did.

Revision ID: 0009
"""

from alembic import op

revision = "0009"
down_revision = "0008"

_FUNCTION = """
CREATE FUNCTION permit_decision_inputs(
    p_customer text, p_lock bigint, p_start timestamptz, p_end timestamptz
) RETURNS json LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
    inputs json;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    -- A new statement of a volatile function: its snapshot is taken now, after the lock.
    SELECT json_build_object(
      'case', (SELECT json_build_object(
                  'timezone', c.timezone, 'language', c.language, 'consents', c.consents,
                  'risk_rating', c.risk_rating, 'signals', c.signals,
                  'profile_as_of', c.profile_as_of, 'unreachable', c.unreachable)
                 FROM cases c WHERE c.customer_id = p_customer),
      'accounts', (SELECT coalesce(json_agg(json_build_object('account_id', a.account_id,
                                                              'flags', a.flags)
                                            ORDER BY a.account_id), '[]')
                     FROM case_accounts a WHERE a.customer_id = p_customer),
      'points', (SELECT coalesce(json_agg(json_build_object('value', p.value, 'owner', p.owner,
                                                            'source', p.source)
                                          ORDER BY p.id), '[]')
                   FROM contact_points p WHERE p.customer_id = p_customer),
      'holds', (SELECT coalesce(json_agg(json_build_object('reason', h.reason,
                                                           'starts_on', h.starts_on,
                                                           'ends_on', h.ends_on)
                                         ORDER BY h.set_at, h.hold_id), '[]')
                  FROM holds h WHERE h.customer_id = p_customer AND h.ended_on IS NULL),
      'permits', (SELECT coalesce(json_agg(json_build_object(
                      'account_id', p.account_id, 'channel', p.channel,
                      'contact_point', p.contact_point, 'at', p.at, 'expires_at', p.expires_at,
                      'outcome', p.outcome, 'party_kind', p.party_kind, 'party_id', p.party_id)),
                    '[]')
                    FROM permits p
                   WHERE p.customer_id = p_customer AND p.allowed
                     AND p.at >= p_start AND p.at < p_end),
      'inbound', (SELECT coalesce(json_agg(json_build_object(
                      'account_id', i.account_id, 'channel', i.channel,
                      'contact_point', i.contact_point, 'at', i.at, 'outcome', i.outcome)), '[]')
                    FROM inbound_contacts i
                   WHERE i.customer_id = p_customer AND i.at >= p_start AND i.at < p_end)
    ) INTO inputs;
    RETURN inputs;
END
$body$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION permit_decision_inputs(text, bigint, timestamptz, timestamptz)")
