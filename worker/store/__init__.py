"""What wirewatch remembers: files seen, articles, matches, and each digest's delivery."""
