"""The API dialects the fake speaks: each an adapter over the one job core."""
