"""Tools for working on wirewatch: the digest preview, the reference pages of the docs."""
