"""Email, the nurturing channel: the mail outbox, its send job, suppressions and bounces.

Decisions to send write a ``MailMessage`` row in the caller's transaction
(``nurture.mail.outbox``); the send job (``nurture.mail.sender``) claims due
messages, checks the rules again (``nurture.mail.rules``), has the composition
root render them (Jinja lives in ``portal``), and talks SMTP
(``nurture.mail.smtp``) outside any database transaction.
"""
