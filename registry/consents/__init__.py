"""Consent: the information-sheet versions people consent on (consent events come with #4)."""
