"""A channel's digest: its pending matches selected, summarised and rendered by templates."""
