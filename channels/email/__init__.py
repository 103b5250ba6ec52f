"""Email: IMAP in, SMTP out."""
