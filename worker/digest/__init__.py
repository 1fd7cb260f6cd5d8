"""A channel's digest: the matches it is given, ordered, summarised and rendered by templates."""
