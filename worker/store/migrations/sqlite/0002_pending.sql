-- What each channel has pending is written down as each match is stored, instead of
-- being worked out from the newest match id when the channel took the rule: ids need
-- not commit in the order they are given out, and a pending row costs only what waits.
CREATE TABLE pending (
    channel TEXT NOT NULL, match_id INTEGER NOT NULL REFERENCES matches (id),
    rule_id TEXT NOT NULL, PRIMARY KEY (channel, match_id));
CREATE INDEX pending_by_rule ON pending (channel, rule_id);
INSERT INTO pending (channel, match_id, rule_id)
    SELECT r.channel, m.id, m.rule_id FROM channel_rules r
    JOIN matches m ON m.rule_id = r.rule_id AND m.id > r.after_match
    WHERE NOT EXISTS (
        SELECT 1 FROM digest_items d WHERE d.channel = r.channel AND d.match_id = m.id);
-- Rebuilt rather than altered: SQLite before 3.35 cannot drop a column.
CREATE TABLE channel_rules_new (
    channel TEXT NOT NULL, rule_id TEXT NOT NULL, PRIMARY KEY (channel, rule_id));
INSERT INTO channel_rules_new (channel, rule_id) SELECT channel, rule_id FROM channel_rules;
DROP TABLE channel_rules;
ALTER TABLE channel_rules_new RENAME TO channel_rules;
-- An article need not come from a file (a feed entry, say): its path may be empty.
CREATE TABLE articles_new (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, date TEXT NOT NULL,
    source TEXT, url TEXT, path TEXT, ingested_at TEXT NOT NULL);
INSERT INTO articles_new (id, title, body, date, source, url, path, ingested_at)
    SELECT id, title, body, date, source, url, path, ingested_at FROM articles;
DROP TABLE articles;
ALTER TABLE articles_new RENAME TO articles;
