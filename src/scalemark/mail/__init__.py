"""Outgoing e-mail: SMTP when configured, else the log and the outbox page."""

from scalemark.mail.service import MailMessage, send_mail

__all__ = ["MailMessage", "send_mail"]
