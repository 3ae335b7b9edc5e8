"""The audit trail: who did what to which subject, when, from where; append-only, hash-chained.

rules     pure: validation, canonical encoding and hash, actor names, checking a link
models    the tables audit_records and audit_chain_head
service   record_audit (in the caller's unit of work), list_audit_records, verify_chain
api       GET /v1/audit (audit:read)
"""
