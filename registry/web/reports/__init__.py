"""Representativeness and attrition report pages."""
