"""Data-access grant and extract pages."""
