"""Upstream Glance 33 for the local cloud's OpenStack regions (see ``localcloud.upstream``)."""
