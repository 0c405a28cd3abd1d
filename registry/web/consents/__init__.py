"""Admins' consent pages: consent forms, a participant's consent timeline, withdrawals."""
