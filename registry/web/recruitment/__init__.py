"""Recruitment-list pages for partners, admins and clinical teams."""
