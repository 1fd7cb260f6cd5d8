-- Article bodies, and digests' documents and rendered forms, are kept packed from here on
-- (zlib, as bytes): a 3 KB article takes about half. SQLite keeps bytes in these columns as
-- they are, and the rows written before stay text, read as before: nothing to rewrite. An
-- older wirewatch, which cannot read packed rows, refuses the state of this version.

-- The channels taking a rule, found by the rule: a match stored is made pending for them
-- without reading every rule of every channel (the cost followed the number of rules).
CREATE INDEX channel_rules_by_rule ON channel_rules (rule_id, channel);
