"""The query-ready row per participant (``ParticipantFacts``) and what derives it.

Above what it derives from (participants, consents, assessments), below what reads it
(eligibility, recruitment, exports, reports). The layers below announce a change on
``registry.signals.records_changed``; ``derive`` receives it, in the same transaction.
``participant_views`` is the participant list's read model, which joins the same sources.
"""
