"""The HTTP layer: the aiohttp app built from the dialects' route tables, body reading,
connections, FakeServer.

Dialect-neutral: what a path means is the dialect's business.
"""
