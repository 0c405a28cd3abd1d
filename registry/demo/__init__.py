"""Synthetic demonstration data (never in production): ``registry demo seed``."""
