-- Stories: each article a channel's digest showed, with its MinHash signature, the story
-- it was shown in (the article that showed the story first) and when that was. A later
-- digest finds new articles of the same story here, across restarts.
CREATE TABLE story_signatures (
    channel TEXT NOT NULL, article_id TEXT NOT NULL, signature TEXT NOT NULL,
    story_id TEXT NOT NULL, first_sent TIMESTAMPTZ NOT NULL, PRIMARY KEY (channel, article_id));
CREATE INDEX story_signatures_by_time ON story_signatures (channel, first_sent);
