"""Administrators' pages: users, sites, grants, the audit log."""
