"""The loyalty programme's rules: ledger, earning, members, orders, jobs, settings and CLI.

Nothing here imports strawberry or starlette; the API layer calls these functions.
"""
