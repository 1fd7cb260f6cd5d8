-- Feeds: how each one was last fetched (its validators, when it is due again, why it
-- failed), which worker polls it now, and each entry seen, kept for good (never pruned),
-- so that an entry is new once however often the feed shows it again.
CREATE TABLE feeds (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, next_poll TIMESTAMPTZ,
    last_success TIMESTAMPTZ, last_error TEXT, error_since TIMESTAMPTZ,
    failures INTEGER NOT NULL DEFAULT 0, gone INTEGER NOT NULL DEFAULT 0,
    holder TEXT, claimed_until TIMESTAMPTZ);
CREATE TABLE feed_entries (
    feed TEXT NOT NULL, entry TEXT NOT NULL, article_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, seen_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (feed, entry));
