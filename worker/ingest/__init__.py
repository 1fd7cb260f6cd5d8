"""Articles in: each file's bytes read by its format, given an identity by its content,
matched, and stored with its matches; a file that cannot be read is recorded, not lost."""
