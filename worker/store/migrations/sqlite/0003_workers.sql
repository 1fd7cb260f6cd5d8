-- Several workers on one state: who reads each file, who builds each digest slot, and
-- which workers are alive. (On SQLite one daemon runs at a time, beside commands.)
CREATE TABLE file_claims (
    key TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    holder TEXT NOT NULL, claimed_until TEXT NOT NULL, done_at TEXT,
    failed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE slots (
    channel TEXT NOT NULL, slot_at TEXT NOT NULL, holder TEXT NOT NULL,
    claimed_until TEXT NOT NULL, done_at TEXT, PRIMARY KEY (channel, slot_at));
CREATE TABLE workers (
    id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at TEXT NOT NULL, last_seen TEXT NOT NULL, stopped_at TEXT);
