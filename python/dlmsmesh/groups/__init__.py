"""Group requests as a head-end runs them: administration of memberships
(:mod:`.admin`), the answer-time statistics (:mod:`.stats`) and a group read
with its follow-up (:mod:`.read`)."""
