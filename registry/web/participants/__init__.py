"""Clinicians' pages: enrolment, a participant's record, assessments and corrections."""
