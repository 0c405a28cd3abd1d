"""Recruitment requests (consent for contact): a partner's study, an admin's decision, the
frozen contact lists clinicians work, and the disclosure-controlled funnel."""
