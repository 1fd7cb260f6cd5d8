-- Mutes: a rule, participant or channel kept out of digests until a time (or until unmuted);
-- the matches a mute kept out of a channel's digest, dropped or held for after it; and when
-- a channel's throttle first held its matches back.
CREATE TABLE mutes (
    id INTEGER PRIMARY KEY, target TEXT NOT NULL, until TEXT NOT NULL,
    afterwards TEXT NOT NULL, reason TEXT, created_by TEXT NOT NULL,
    created_at TEXT NOT NULL, ended_at TEXT);
CREATE INDEX mutes_by_end ON mutes (until);
CREATE TABLE muted_matches (
    channel TEXT NOT NULL, match_id INTEGER NOT NULL, mute_id INTEGER NOT NULL,
    afterwards TEXT NOT NULL, muted_at TEXT NOT NULL, released_at TEXT,
    PRIMARY KEY (channel, match_id));
CREATE INDEX muted_matches_by_match ON muted_matches (match_id);
CREATE TABLE throttle_holds (channel TEXT PRIMARY KEY, since TEXT NOT NULL);
