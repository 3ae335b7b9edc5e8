"""Reporting: seller statements, payout compositions, finance reports, the analytics export.

It owns no table and moves no money: it reads through the other contexts' services (and the
read-only `ledger.summaries`, `ledger.export`, `payouts.export`, `events.export`).

    rules       pure: a statement's language and lines, the checks every report passes
    labels      a statement's words in en, fr, es, ja
    service     a seller's statement; a payout's composition
    finance     cash position, seller liabilities, revenue by kind, trial balance
    csv_files   every report as CSV (the balances' conventions)
    pdf         a seller's statement as PDF (reportlab)
    export      ledger entries, payouts and events to Parquet + BigQuery schemas, incremental
    schemas     response bodies; api: the HTTP routes
"""
