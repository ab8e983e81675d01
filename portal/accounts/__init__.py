"""Staff accounts, sessions, login throttling and API tokens."""
