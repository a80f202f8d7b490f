"""Every write to disputes and mediation goes through a function here (one per step).

screening: screening rounds and the dispute record (record, update, close, from a petition);
cases: the mediation case from acceptance to agreement, follow-ups and judicial confirmation.
Each step locks its row, checks the transition map in mediation.models, saves with
update_fields and writes a DisputeEvent / MediationEvent in the same transaction.
"""
