"""Digests out: built and stored before they are sent, claimed, sent, retried and recorded,
each channel on its schedule."""
