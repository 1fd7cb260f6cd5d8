"""Articles in: the raw bytes a source found, read by their format, given an identity by
their content, matched, and stored with their matches; what cannot be read is said."""
