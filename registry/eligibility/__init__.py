"""Eligibility: which contactable participants a study's criteria would reach.

``catalogue`` lists the fields a criteria document may use, ``criteria`` validates a
document into a typed tree, and ``compiler`` turns that tree into one SQL statement over
``participant_facts``. No HTTP here: the endpoints call these.
"""
