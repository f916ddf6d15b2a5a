"""pikad: the server process (network, dispatch, the end of the turn, cron, lifecycle,
blocking, transactions' WATCH, pub/sub, CLIENT PAUSE / WAIT / sync mode, role changes,
workers and forwarding between them). docs/architecture.md draws how it uses the packages
below it.
"""
