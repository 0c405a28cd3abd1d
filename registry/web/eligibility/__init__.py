"""The eligibility query pages: criteria, counts and saved queries."""
