-- Matches stored but sent to no channel (`ingest --no-digest`, a new archive in a folder
-- with `alert_existing: false`), and why; and each watched folder whose first scan is done.
CREATE TABLE withheld (
    channel TEXT NOT NULL, match_id INTEGER NOT NULL REFERENCES matches (id),
    reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (channel, match_id));
CREATE INDEX withheld_by_match ON withheld (match_id);
CREATE TABLE folders_scanned (path TEXT PRIMARY KEY, at TEXT NOT NULL);
