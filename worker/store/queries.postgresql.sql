-- What PostgreSQL runs differently from queries.sql, by the same names.

-- hold_rule --
-- While a match of the rule is stored, no channel takes the rule: a channel takes a rule
-- before or after a match's transaction, never in the middle (ids commit out of order)
SELECT pg_advisory_xact_lock_shared(7, hashtext(:rule_id));

-- lock_rule --
-- While a channel takes the rule, no match of it is stored
SELECT pg_advisory_xact_lock(7, hashtext(:rule_id));

-- copied --
-- After rows were copied in with their ids, new ids follow them
SELECT setval(pg_get_serial_sequence('matches', 'id'), COALESCE((SELECT MAX(id) FROM matches), 0) + 1, false),
       setval(pg_get_serial_sequence('mutes', 'id'), COALESCE((SELECT MAX(id) FROM mutes), 0) + 1, false);
