"""Language: words, sentences and paragraphs as a reader sees them, for any stage to use."""
