"""Enrolment: one command that writes a person's identity, consent and facts together.

It sits above ``participants``, ``consents`` and ``facts`` and calls each of them, so that
none of those needs to know about the others to enrol someone.
"""
