"""Watch rules: the query language, participants, and rule files read and checked together."""
