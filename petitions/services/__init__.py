"""Every write to petitions goes through a function here (one per statutory step).

intake: register, repeat candidates and linking; workflow: route … close, supervision;
visits: visit log and reception days; documents: notices rendered as HTML and PDF.
"""
