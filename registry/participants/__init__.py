"""Participants: pseudonymous records whose identifiers are sealed field by field."""
