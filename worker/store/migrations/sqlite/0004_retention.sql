-- Retention: every article ever seen keeps a compact record of its identity (its content
-- hash), so that one pruned is never ingested or sent again; files seen keep theirs in
-- `files` and `file_claims`, which are never pruned.
CREATE TABLE seen_articles (id TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
INSERT INTO seen_articles (id, seen_at) SELECT id, ingested_at FROM articles;
-- What `wirewatch prune` looks for: articles and sent digests by age, and whether a
-- match is still owed (pending, or in a digest not delivered).
CREATE INDEX articles_by_age ON articles (ingested_at);
CREATE INDEX digests_by_sent ON digests (status, sent_at);
CREATE INDEX digest_items_by_match ON digest_items (match_id);
CREATE INDEX pending_by_match ON pending (match_id);
-- A sent digest is never sent again: its rendered forms are not kept.
UPDATE digests SET rendered = NULL WHERE status = 'sent';
