"""Accounts: the companies leads belong to, by company email domain (never a free-mail or
disposable one) or as a marketer assigns them."""
