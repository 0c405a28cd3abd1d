"""Admins' pages for partners' privacy budgets."""
