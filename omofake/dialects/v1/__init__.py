"""The v1 dialect (``/api/...``): request checking and mapping, answer rendering, its error catalogue."""
