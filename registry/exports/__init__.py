"""Researcher exports under data-access grants: pseudonymised extracts and FHIR R4."""
