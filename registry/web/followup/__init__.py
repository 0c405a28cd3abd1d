"""The follow-up worklist page."""
