"""Pages that belong to no single domain package (the home page)."""
