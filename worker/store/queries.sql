-- Every statement the store runs, each named by a line `-- name --` and said in one line.
-- Plain SQL that SQLite and PostgreSQL both read: `ON CONFLICT`, no `INSERT OR ...`;
-- parameters are named (`:path`), times are bound by the backend.

-- file --
-- The record of one file, if it was seen
SELECT path, size, mtime_ns, ctime_ns, error FROM files WHERE path = :path;

-- files --
-- Every file seen
SELECT path, size, mtime_ns, ctime_ns, error FROM files;

-- record_file --
-- Remember a file as ingested (or failed) at this size and these change times
INSERT INTO files (path, size, mtime_ns, ctime_ns, error, seen_at)
VALUES (:path, :size, :mtime_ns, :ctime_ns, :error, :at)
ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
    ctime_ns = excluded.ctime_ns, error = excluded.error, seen_at = excluded.seen_at;

-- failures --
-- Files that could not be read, with the reason
SELECT path, size, mtime_ns, ctime_ns, error FROM files WHERE error IS NOT NULL ORDER BY path;

-- known_articles --
-- Which of the articles whose ids `{ids}` names were ever stored, pruned since or not
SELECT id FROM seen_articles WHERE id IN ({ids});

-- add_seen --
-- Remember an article's identity for good, unless it was seen before
INSERT INTO seen_articles (id, seen_at) VALUES (:id, :at) ON CONFLICT (id) DO NOTHING;

-- add_article --
-- Store an article unless one with the same content is stored
INSERT INTO articles (id, title, body, date, source, url, path, author, language, site,
                      ingested_at)
VALUES (:id, :title, :body, :date, :source, :url, :path, :author, :language, :site, :at)
ON CONFLICT (id) DO NOTHING;

-- add_match --
-- Store a match of an article and a rule unless it is stored already
INSERT INTO matches (article_id, rule_id, hits, matched_at)
VALUES (:article_id, :rule_id, :hits, :at)
ON CONFLICT (article_id, rule_id) DO NOTHING;

-- add_pending --
-- A match just stored is pending for every channel that takes its rule now
INSERT INTO pending (channel, match_id, rule_id)
SELECT r.channel, m.id, m.rule_id FROM matches m
JOIN channel_rules r ON r.rule_id = m.rule_id
WHERE m.article_id = :article_id AND m.rule_id = :rule_id;

-- add_pending_of_article --
-- The matches of an article just stored are pending for every channel that takes their
-- rule now
INSERT INTO pending (channel, match_id, rule_id)
SELECT r.channel, m.id, m.rule_id FROM matches m
JOIN channel_rules r ON r.rule_id = m.rule_id
WHERE m.article_id = :article_id;

-- articles --
-- A page of stored articles after the id `after`, ingested since `since`, from the files and
-- folders `{under}` names
SELECT id, title, body, date, source, url, path, author, language, site FROM articles
WHERE id > :after AND ingested_at >= :since {under} ORDER BY id LIMIT :page;

-- counts --
-- Articles ingested, files failed and matches stored
SELECT (SELECT COUNT(*) FROM articles),
       (SELECT COUNT(*) FROM files WHERE error IS NOT NULL),
       (SELECT COUNT(*) FROM matches);

-- add_channel --
-- Remember when a channel first appeared
INSERT INTO channels (name, since) VALUES (:channel, :at) ON CONFLICT (name) DO NOTHING;

-- channel_since --
-- When a channel first appeared
SELECT since FROM channels WHERE name = :channel;

-- channel_rules --
-- The rules a channel takes
SELECT rule_id FROM channel_rules WHERE channel = :channel;

-- take_rule --
-- A channel takes a rule: its matches stored from now on are pending for the channel
INSERT INTO channel_rules (channel, rule_id) VALUES (:channel, :rule_id);

-- drop_rule --
-- A channel no longer takes a rule
DELETE FROM channel_rules WHERE channel = :channel AND rule_id = :rule_id;

-- drop_pending_of_rule --
-- The matches of a rule a channel dropped are no longer pending for it
DELETE FROM pending WHERE channel = :channel AND rule_id = :rule_id;

-- pending --
-- The oldest matches pending for a channel, with their articles
SELECT m.id, m.rule_id, m.hits, m.matched_at,
       a.id, a.title, a.body, a.date, a.source, a.url, a.path, a.author, a.language, a.site
FROM pending p
JOIN matches m ON m.id = p.match_id
JOIN articles a ON a.id = m.article_id
WHERE p.channel = :channel
ORDER BY p.match_id LIMIT :limit;

-- withhold_pending --
-- The matches of an article just stored are sent to no channel: recorded as withheld
INSERT INTO withheld (channel, match_id, reason, at)
SELECT p.channel, p.match_id, :reason, :at FROM pending p
JOIN matches m ON m.id = p.match_id WHERE m.article_id = :article_id;

-- drop_pending_of_article --
-- The matches of an article just stored, withheld, are pending for no channel
DELETE FROM pending WHERE match_id IN (SELECT id FROM matches WHERE article_id = :article_id);

-- pending_newest --
-- The newest matches of one rule pending for a channel, with their articles
SELECT m.id, m.rule_id, m.hits, m.matched_at,
       a.id, a.title, a.body, a.date, a.source, a.url, a.path, a.author, a.language, a.site
FROM pending p
JOIN matches m ON m.id = p.match_id
JOIN articles a ON a.id = m.article_id
WHERE p.channel = :channel AND p.rule_id = :rule_id
ORDER BY a.date DESC, p.match_id DESC LIMIT :limit;

-- pending_through --
-- The newest match pending for a channel: a digest takes the backlog up to it
SELECT MAX(match_id) FROM pending WHERE channel = :channel;

-- pending_records --
-- A page of the matches pending for a channel after :after up to :through, without text
SELECT m.id, m.rule_id, m.hits, m.matched_at,
       a.id, a.title, a.date, a.source, a.url, a.path
FROM pending p
JOIN matches m ON m.id = p.match_id
JOIN articles a ON a.id = m.article_id
WHERE p.channel = :channel AND p.match_id > :after AND p.match_id <= :through
ORDER BY p.match_id LIMIT :page;

-- add_backlog_items --
-- A digest holds every other match pending for its channel up to :through (listed: taken)
INSERT INTO digest_items (channel, match_id, digest_id)
SELECT channel, match_id, :digest_id FROM pending
WHERE channel = :channel AND match_id <= :through;

-- take_backlog --
-- The matches a digest holds up to :through are no longer pending for its channel
DELETE FROM pending WHERE channel = :channel AND match_id <= :through;

-- stored_matches --
-- A page of the stored matches after :after, of one rule (unless :any_rule), matched since
SELECT m.id, m.rule_id, m.hits, m.matched_at,
       a.id, a.title, a.date, a.source, a.url, a.path
FROM matches m
JOIN articles a ON a.id = m.article_id
WHERE m.id > :after AND (:any_rule = 1 OR m.rule_id = :rule_id) AND m.matched_at >= :since
ORDER BY m.id LIMIT :page;

-- digest_matches --
-- A page of the matches a digest holds after :after, of one rule (unless :any_rule),
-- matched since
SELECT m.id, m.rule_id, m.hits, m.matched_at,
       a.id, a.title, a.date, a.source, a.url, a.path
FROM digest_items i
JOIN matches m ON m.id = i.match_id
JOIN articles a ON a.id = m.article_id
WHERE i.digest_id = :digest_id AND m.id > :after
  AND (:any_rule = 1 OR m.rule_id = :rule_id) AND m.matched_at >= :since
ORDER BY m.id LIMIT :page;

-- first_scan_done --
-- Whether a watched folder's first scan is done
SELECT 1 FROM folders_scanned WHERE path = :path;

-- record_first_scan --
-- A watched folder's first scan is done: what it found from now on is new
INSERT INTO folders_scanned (path, at) VALUES (:path, :at) ON CONFLICT (path) DO NOTHING;

-- pending_count --
-- How many matches are pending for a channel
SELECT COUNT(*) FROM pending WHERE channel = :channel;

-- add_digest --
-- Write a digest down before it is delivered
INSERT INTO digests (id, channel, created_at, status, attempts, document, rendered)
VALUES (:id, :channel, :created_at, 'pending', 0, :document, :rendered)
ON CONFLICT (id) DO NOTHING;

-- take_pending --
-- A digest takes a match pending for its channel
DELETE FROM pending WHERE channel = :channel AND match_id = :match_id;

-- add_digest_item --
-- The digest holds the match, once in the channel's history
INSERT INTO digest_items (channel, match_id, digest_id) VALUES (:channel, :match_id, :digest_id);

-- end_throttle_hold --
-- A digest went out on the channel: what its throttle held back goes with it
DELETE FROM throttle_holds WHERE channel = :channel;

-- last_digest_at --
-- When a channel's latest digest was made, sent or not
SELECT MAX(created_at) FROM digests WHERE channel = :channel;

-- unsent_digests --
-- A channel's digests written down and not yet delivered, oldest first
SELECT id, channel, created_at, status, attempts, document, rendered, last_error, sent_at,
       next_attempt_at, first_failure_at, claimed_until
FROM digests WHERE channel = :channel AND status = 'pending'
ORDER BY created_at, id;

-- claim_digest --
-- Take a pending digest that is due and claimed by no one (or by one whose claim ran out)
UPDATE digests SET claimed_by = :holder, claimed_until = :until
WHERE id = :id AND status = 'pending'
  AND (next_attempt_at IS NULL OR next_attempt_at <= :at)
  AND (claimed_until IS NULL OR claimed_until <= :at);

-- renew_claim --
-- Keep the holder's claim on a digest still pending
UPDATE digests SET claimed_until = :until
WHERE id = :id AND claimed_by = :holder AND status = 'pending';

-- mark_sent --
-- The receiver took the digest: it is never sent again, its rendered forms go
UPDATE digests SET status = 'sent', sent_at = :at, attempts = attempts + 1,
    next_attempt_at = NULL, claimed_by = NULL, claimed_until = NULL, rendered = NULL
WHERE id = :id;

-- record_failure --
-- An attempt failed: due again at :retry_at, or dead when there is none
UPDATE digests SET attempts = attempts + 1, last_error = :error,
    first_failure_at = COALESCE(first_failure_at, :at), next_attempt_at = :retry_at,
    status = :status, claimed_by = NULL, claimed_until = NULL
WHERE id = :id;

-- revive_dead --
-- Make a channel's dead digests pending again, due at :at
UPDATE digests SET status = 'pending', attempts = 0, first_failure_at = NULL,
    next_attempt_at = :at
WHERE channel = :channel AND status = 'dead';

-- last_sent --
-- When a channel last delivered a digest
SELECT MAX(sent_at) FROM digests WHERE channel = :channel AND status = 'sent';

-- digests_by_status --
-- How many of a channel's digests are pending, sent and dead
SELECT status, COUNT(*) FROM digests WHERE channel = :channel GROUP BY status;

-- retrying --
-- How many of a channel's digests wait for a retry
SELECT COUNT(*) FROM digests
WHERE channel = :channel AND status = 'pending' AND last_error IS NOT NULL;

-- last_failure --
-- The newest error of a digest of the channel not delivered, and when it is due again
SELECT last_error, next_attempt_at FROM digests
WHERE channel = :channel AND status != 'sent' AND last_error IS NOT NULL
ORDER BY created_at DESC LIMIT 1;

-- channels_with_digests --
-- Every channel that has digests not delivered, waiting or given up on
SELECT DISTINCT channel FROM digests WHERE status != 'sent' ORDER BY channel;

-- last_run --
-- When a channel's schedule last fired
SELECT last_run FROM schedule_runs WHERE channel = :channel;

-- record_run --
-- Remember that a channel's schedule fired
INSERT INTO schedule_runs (channel, last_run) VALUES (:channel, :at)
ON CONFLICT (channel) DO UPDATE SET last_run = excluded.last_run;

-- prune_digest_items --
-- What digests sent before :digests_before held, but each channel's last sent
DELETE FROM digest_items WHERE digest_id IN (
    SELECT d.id FROM digests d WHERE d.status = 'sent' AND d.sent_at < :digests_before
    AND d.sent_at < (SELECT MAX(e.sent_at) FROM digests e
                     WHERE e.channel = d.channel AND e.status = 'sent'));

-- prune_digests --
-- Digests sent before :digests_before, but each channel's last sent (when it last sent
-- stays known); those not delivered (pending or dead) are owed
DELETE FROM digests WHERE status = 'sent' AND sent_at < :digests_before
AND sent_at < (SELECT MAX(e.sent_at) FROM digests e
               WHERE e.channel = digests.channel AND e.status = 'sent');

-- prune_match_items --
-- Where sent digests held the matches of articles stored before :articles_before that
-- nothing owes (no match pending, none in a digest not delivered)
DELETE FROM digest_items WHERE match_id IN (
    SELECT m.id FROM matches m JOIN articles a ON a.id = m.article_id
    WHERE a.ingested_at < :articles_before AND NOT EXISTS (
        SELECT 1 FROM matches o WHERE o.article_id = a.id AND (
            EXISTS (SELECT 1 FROM pending p WHERE p.match_id = o.id)
            OR EXISTS (SELECT 1 FROM muted_matches h WHERE h.match_id = o.id
                       AND h.afterwards = 'deliver' AND h.released_at IS NULL)
            OR EXISTS (SELECT 1 FROM digest_items i JOIN digests d ON d.id = i.digest_id
                       WHERE i.match_id = o.id AND d.status != 'sent'))));

-- prune_withheld --
-- Where withheld matches of articles stored before :articles_before, that nothing owes, were
-- recorded (their items in sent digests are gone already)
DELETE FROM withheld WHERE match_id IN (
    SELECT m.id FROM matches m JOIN articles a ON a.id = m.article_id
    WHERE a.ingested_at < :articles_before AND NOT EXISTS (
        SELECT 1 FROM matches o WHERE o.article_id = a.id AND (
            EXISTS (SELECT 1 FROM pending p WHERE p.match_id = o.id)
            OR EXISTS (SELECT 1 FROM digest_items i WHERE i.match_id = o.id))));

-- prune_matches --
-- The matches of articles stored before :articles_before that nothing owes (their items
-- in sent digests are gone already)
DELETE FROM matches WHERE id IN (
    SELECT m.id FROM matches m JOIN articles a ON a.id = m.article_id
    WHERE a.ingested_at < :articles_before AND NOT EXISTS (
        SELECT 1 FROM matches o WHERE o.article_id = a.id AND (
            EXISTS (SELECT 1 FROM pending p WHERE p.match_id = o.id)
            OR EXISTS (SELECT 1 FROM muted_matches h WHERE h.match_id = o.id
                       AND h.afterwards = 'deliver' AND h.released_at IS NULL)
            OR EXISTS (SELECT 1 FROM digest_items i WHERE i.match_id = o.id))));

-- prune_muted --
-- What mutes kept out, of the matches just removed
DELETE FROM muted_matches
WHERE NOT EXISTS (SELECT 1 FROM matches m WHERE m.id = muted_matches.match_id);

-- prune_articles --
-- Articles stored before :articles_before with no match left: a match left is owed
DELETE FROM articles WHERE ingested_at < :articles_before
    AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.article_id = articles.id);

-- owed_articles --
-- Articles stored before :articles_before that are kept: the outbox still owes them
SELECT COUNT(*) FROM articles WHERE ingested_at < :articles_before;

-- add_mute --
-- Mute a rule, participant or channel until :until
INSERT INTO mutes (target, until, afterwards, reason, created_by, created_at)
VALUES (:target, :until, :afterwards, :reason, :created_by, :at) RETURNING id;

-- end_mutes --
-- Unmute: the mutes on of a target, or the mute with an id, end now
UPDATE mutes SET ended_at = :at
WHERE (target = :target OR id = :id) AND ended_at IS NULL AND until > :at;

-- active_mutes --
-- The mutes on at :at, those ending soonest first
SELECT id, target, until, afterwards, reason, created_by, created_at, ended_at FROM mutes
WHERE ended_at IS NULL AND until > :at ORDER BY until, id;

-- mutes_ending_after --
-- The mutes that end (or ended) after :since: those that may cover a match stored then
SELECT id, target, until, afterwards, reason, created_by, created_at, ended_at FROM mutes
WHERE COALESCE(ended_at, until) > :since ORDER BY id;

-- record_muted --
-- A mute kept a match out of a channel's digest, dropped or held until it ends
INSERT INTO muted_matches (channel, match_id, mute_id, afterwards, muted_at)
VALUES (:channel, :match_id, :mute_id, :afterwards, :at)
ON CONFLICT (channel, match_id) DO UPDATE SET mute_id = excluded.mute_id,
    afterwards = excluded.afterwards, muted_at = excluded.muted_at, released_at = NULL;

-- release_held --
-- The matches a mute held for a channel are pending again once it has ended, if the
-- channel still takes their rule
INSERT INTO pending (channel, match_id, rule_id)
SELECT h.channel, h.match_id, m.rule_id FROM muted_matches h
JOIN matches m ON m.id = h.match_id
JOIN mutes u ON u.id = h.mute_id
JOIN channel_rules r ON r.channel = h.channel AND r.rule_id = m.rule_id
WHERE h.channel = :channel AND h.afterwards = 'deliver' AND h.released_at IS NULL
  AND COALESCE(u.ended_at, u.until) <= :at
ON CONFLICT (channel, match_id) DO NOTHING;

-- mark_released --
-- The matches a mute held for a channel were given back to it
UPDATE muted_matches SET released_at = :at
WHERE channel = :channel AND afterwards = 'deliver' AND released_at IS NULL
  AND mute_id IN (SELECT id FROM mutes WHERE COALESCE(ended_at, until) <= :at);

-- listed_matches --
-- Stored matches since :since, of one rule (`{rule}`), kept out by a mute (`{muted}`),
-- oldest first
SELECT m.id, m.rule_id, m.hits, m.matched_at,
       a.id, a.title, a.body, a.date, a.source, a.url, a.path, a.author, a.language, a.site
FROM matches m JOIN articles a ON a.id = m.article_id
WHERE m.matched_at >= :since {rule} {muted}
ORDER BY m.id LIMIT :limit;

-- muted_between --
-- What mutes kept out, of the matches with ids from :first to :last
SELECT h.channel, h.match_id, h.released_at,
       u.id, u.target, u.until, u.afterwards, u.reason, u.created_by, u.created_at, u.ended_at
FROM muted_matches h JOIN mutes u ON u.id = h.mute_id
WHERE h.match_id >= :first AND h.match_id <= :last ORDER BY h.match_id, h.channel;

-- digests_made_since --
-- How many digests a channel made after :since (what its throttle counts)
SELECT COUNT(*) FROM digests WHERE channel = :channel AND created_at > :since;

-- hold_for_throttle --
-- The channel's throttle holds its matches back, from :at unless it did already
INSERT INTO throttle_holds (channel, since) VALUES (:channel, :at)
ON CONFLICT (channel) DO NOTHING;

-- throttle_held_since --
-- Since when the channel's throttle has held its matches back, if it has
SELECT since FROM throttle_holds WHERE channel = :channel;

-- claim_file --
-- Take a file to read it: new to every worker, changed since, its reader's claim run out,
-- taken again by its holder, or (with :retry_failed) failed before
INSERT INTO file_claims (key, size, mtime_ns, holder, claimed_until, done_at, failed)
VALUES (:key, :size, :mtime_ns, :holder, :until, NULL, 0)
ON CONFLICT (key) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
    holder = excluded.holder, claimed_until = excluded.claimed_until, done_at = NULL, failed = 0
WHERE file_claims.size != excluded.size OR file_claims.mtime_ns != excluded.mtime_ns
   OR (file_claims.done_at IS NULL
       AND (file_claims.claimed_until <= :at OR file_claims.holder = excluded.holder))
   OR (file_claims.done_at IS NOT NULL AND file_claims.failed = 1 AND :retry_failed = 1);

-- finish_file --
-- The holder is done with the file: read, or failed
UPDATE file_claims SET done_at = :at, failed = :failed WHERE key = :key AND holder = :holder;

-- claim_slot --
-- Take a channel's slot to build its digest: new, or its builder's claim run out
INSERT INTO slots (channel, slot_at, holder, claimed_until)
VALUES (:channel, :slot_at, :holder, :until)
ON CONFLICT (channel, slot_at) DO UPDATE SET holder = excluded.holder,
    claimed_until = excluded.claimed_until
WHERE slots.done_at IS NULL
  AND (slots.claimed_until <= :at OR slots.holder = excluded.holder);

-- finish_slot --
-- The slot's digests are built
UPDATE slots SET done_at = :at WHERE channel = :channel AND slot_at = :slot_at;

-- beat --
-- A worker is alive (and says so when it starts)
INSERT INTO workers (id, host, pid, started_at, last_seen)
VALUES (:id, :host, :pid, :at, :at)
ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen;

-- stop_worker --
-- A worker stopped cleanly
UPDATE workers SET stopped_at = :at, last_seen = :at WHERE id = :id;

-- workers --
-- The workers that have not stopped cleanly, and the claims each holds now
SELECT w.id, w.host, w.pid, w.started_at, w.last_seen,
       (SELECT COUNT(*) FROM digests d WHERE d.claimed_by = w.id AND d.claimed_until > :at),
       (SELECT COUNT(*) FROM file_claims f
        WHERE f.holder = w.id AND f.done_at IS NULL AND f.claimed_until > :at),
       (SELECT COUNT(*) FROM slots s
        WHERE s.holder = w.id AND s.done_at IS NULL AND s.claimed_until > :at)
FROM workers w WHERE w.stopped_at IS NULL ORDER BY w.started_at, w.id;

-- hold_rule --
-- While a match of the rule is stored, no channel takes the rule (SQLite: nothing to run,
-- writers wait for one another already)

-- lock_rule --
-- While a channel takes the rule, no match of it is stored (SQLite: as above)
SELECT :rule_id;

-- is_empty --
-- Whether a state holds nothing yet: what `copy-state` may copy into
SELECT (SELECT COUNT(*) FROM seen_articles) + (SELECT COUNT(*) FROM files)
     + (SELECT COUNT(*) FROM folders_scanned)
     + (SELECT COUNT(*) FROM digests) + (SELECT COUNT(*) FROM channels);

-- copied --
-- After rows were copied in with their ids, new ids follow them (SQLite: nothing to do)
SELECT 1;

-- stories_shown --
-- The articles a channel's digests showed in stories first shown since :since, each with
-- the article that showed its story first (kept while that article is)
SELECT s.article_id, s.signature, s.first_sent,
       a.id, a.title, '', a.date, a.source, a.url, a.path, a.author, a.language, a.site
FROM story_signatures s JOIN articles a ON a.id = s.story_id
WHERE s.channel = :channel AND s.first_sent >= :since
ORDER BY s.first_sent, s.article_id;

-- add_story_shown --
-- Remember an article a channel's digest showed, and its story; the first time counts
INSERT INTO story_signatures (channel, article_id, signature, story_id, first_sent)
VALUES (:channel, :article_id, :signature, :story_id, :first_sent)
ON CONFLICT (channel, article_id) DO NOTHING;

-- prune_stories --
-- Stories of articles pruned: there is nothing left to group with
DELETE FROM story_signatures
WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = story_signatures.article_id)
   OR NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = story_signatures.story_id);
-- feed --
-- The record of one feed
SELECT url, etag, last_modified, next_poll, last_success, last_error, error_since, failures,
       gone
FROM feeds WHERE url = :url;

-- feeds --
-- Every feed polled, by url
SELECT url, etag, last_modified, next_poll, last_success, last_error, error_since, failures,
       gone
FROM feeds ORDER BY url;

-- add_feed --
-- A feed polled for the first time: due at once
INSERT INTO feeds (url) VALUES (:url) ON CONFLICT (url) DO NOTHING;

-- claim_feed --
-- Take a feed to poll it: due, not gone, and claimed by no one (or by one whose claim ran out)
UPDATE feeds SET holder = :holder, claimed_until = :until
WHERE url = :url AND gone = 0 AND (next_poll IS NULL OR next_poll <= :at)
  AND (claimed_until IS NULL OR claimed_until <= :at OR holder = :holder);

-- finish_feed --
-- The holder polled the feed: how it went, when it is due again; its claim let go
UPDATE feeds SET etag = :etag, last_modified = :last_modified, next_poll = :next_poll,
    last_success = :last_success, last_error = :last_error, error_since = :error_since,
    failures = :failures, gone = :gone, holder = NULL, claimed_until = NULL
WHERE url = :url AND holder = :holder;

-- feed_entries --
-- The fingerprint of each entry of a feed seen, by its key
SELECT entry, fingerprint FROM feed_entries WHERE feed = :feed;

-- record_entry --
-- An entry of a feed ingested as it reads now
INSERT INTO feed_entries (feed, entry, article_id, fingerprint, seen_at)
VALUES (:feed, :entry, :article_id, :fingerprint, :at)
ON CONFLICT (feed, entry) DO UPDATE SET fingerprint = excluded.fingerprint;

-- article_as_stored --
-- What a new version of a stored article is told from: whether it reads the same
SELECT title, body, date, url, author FROM articles WHERE id = :id;

-- revise_article --
-- A new version of a stored article (an edited feed entry)
UPDATE articles SET title = :title, body = :body, date = :date, source = :source, url = :url,
    author = :author, language = :language, site = :site
WHERE id = :id;

-- revise_hits --
-- The hits of a match stored before, as the new version of its article has them
UPDATE matches SET hits = :hits WHERE article_id = :article_id AND rule_id = :rule_id;

-- feed_validators --
-- What a feed's publisher gave to ask next time whether it changed (once its entries are in)
UPDATE feeds SET etag = :etag, last_modified = :last_modified WHERE url = :url;
