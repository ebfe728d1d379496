"""Sizes in bytes, named once for the whole package."""

MiB = 1024 * 1024
GiB = 1024 * MiB
