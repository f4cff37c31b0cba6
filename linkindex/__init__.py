"""linkindex: a self-hosted backlink index."""

__version__ = "0.1.0"
