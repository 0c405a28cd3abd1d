"""The JSON API under /api/v1 (flask-smorest): thin endpoints over the domain actions."""
