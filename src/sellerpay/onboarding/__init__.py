"""Onboarding (KYC/KYB): what each seller must provide, how each requirement stands, and the
capabilities that follow (`payouts_enabled`, `sales_enabled`).

    rules         pure: requirement rules per country, business type and volume; `derive`;
                  bank account holder name matching
    taxids        pure: tax and company ids validated with python-stdnum
    documents     uploaded proofs: type sniffing, file name checks, content-addressed storage
    verification  the identity/company verification provider interface and a simulated one
    models        tables: profiles, persons, documents, decisions, idempotency keys
    service       use cases; `capabilities_of` for payout runs; `set_sanctions_block`
    schemas, api  the HTTP routes (seller-scoped onboarding, compliance queue and decisions)
    demo          onboard a simulated seller in one call
"""
