"""pikad: the server process (network, dispatch, cron, lifecycle)."""
