"""The one job core every dialect shares: jobs and their life, behaviour knobs,
the clock, balances, prices, the journal.

Nothing here imports a dialect, the HTTP layer or the CLI.
"""
