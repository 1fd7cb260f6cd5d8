-- What a page says of its article besides its text: who wrote it, in which language (a
-- code such as en or ru), and the name of the site that published it.
ALTER TABLE articles ADD COLUMN author TEXT;
ALTER TABLE articles ADD COLUMN language TEXT;
ALTER TABLE articles ADD COLUMN site TEXT;
