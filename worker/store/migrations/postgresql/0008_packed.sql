-- Article bodies, and digests' documents and rendered forms, are kept packed from here on
-- (zlib, as bytes): a 3 KB article takes about half. The rows written before become bytes
-- as they read, after a zero byte (which no packed value begins with); wirewatch reads both.
ALTER TABLE articles ALTER COLUMN body TYPE BYTEA
    USING decode('00', 'hex') || convert_to(body, 'UTF8');
ALTER TABLE digests ALTER COLUMN document TYPE BYTEA
    USING decode('00', 'hex') || convert_to(document, 'UTF8');
ALTER TABLE digests ALTER COLUMN rendered TYPE BYTEA
    USING decode('00', 'hex') || convert_to(rendered, 'UTF8');

-- The channels taking a rule, found by the rule: a match stored is made pending for them
-- without reading every rule of every channel (the cost followed the number of rules).
CREATE INDEX channel_rules_by_rule ON channel_rules (rule_id, channel);
