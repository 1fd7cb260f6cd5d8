-- The first layout: files seen, articles, matches, digests and what each channel took.
CREATE TABLE files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, error TEXT, seen_at TEXT NOT NULL);
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, date TEXT NOT NULL,
    source TEXT, url TEXT, path TEXT NOT NULL, ingested_at TEXT NOT NULL);
CREATE TABLE matches (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles (id),
    rule_id TEXT NOT NULL, hits TEXT NOT NULL, matched_at TEXT NOT NULL,
    UNIQUE (article_id, rule_id));
CREATE INDEX matches_by_rule ON matches (rule_id, id);
CREATE TABLE digests (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, created_at TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, document TEXT NOT NULL,
    last_error TEXT, sent_at TEXT, next_attempt_at TEXT, first_failure_at TEXT,
    rendered TEXT, claimed_by TEXT, claimed_until TEXT);
CREATE INDEX digests_by_channel ON digests (channel, status);
CREATE TABLE digest_items (
    channel TEXT NOT NULL, match_id INTEGER NOT NULL REFERENCES matches (id),
    digest_id TEXT NOT NULL REFERENCES digests (id), PRIMARY KEY (channel, match_id));
CREATE INDEX digest_items_by_digest ON digest_items (digest_id, match_id);
CREATE TABLE schedule_runs (channel TEXT PRIMARY KEY, last_run TEXT NOT NULL);
CREATE TABLE channels (name TEXT PRIMARY KEY, since TEXT NOT NULL);
CREATE TABLE channel_rules (
    channel TEXT NOT NULL, rule_id TEXT NOT NULL, after_match INTEGER NOT NULL,
    PRIMARY KEY (channel, rule_id));
