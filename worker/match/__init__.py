"""Match articles against rules: compile the rule set once, find its words in an article in
one pass, decide the few rules those words leave, and explain why each holds or fails."""
