"""Where articles come from: watched folders, and the edits of the files the user writes."""
