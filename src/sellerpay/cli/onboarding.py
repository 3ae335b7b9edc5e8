"""`sellerpay onboarding …`: a seller's requirements, the compliance queue, the verification job,
deadlines and document retention, and onboarding a simulated seller in one go."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final

import typer
from rich.table import Table

from sellerpay.cli.runtime import console, exits_cleanly, open_database, system_clock
from sellerpay.onboarding import service
from sellerpay.onboarding.demo import onboard_simulated_seller
from sellerpay.onboarding.rules import BusinessType
from sellerpay.settings import get_settings

app = typer.Typer(
    help="Onboarding (KYC/KYB): requirements, verification, compliance queue.",
    no_args_is_help=True,
)
rows_shown_max: Final = 50


@app.command("show")
@exits_cleanly
def show(seller_id: Annotated[str, typer.Argument(help="The seller id (sel_…).")]) -> None:
    """What the seller sent, what is due, waiting for review or refused, and its capabilities."""
    view = service.get_onboarding(open_database(), seller_id, now=system_clock().now())
    state = view.requirements
    allowed = state.capabilities
    console.print(
        f"[bold]{seller_id}[/] {view.profile.country} "
        f"{view.profile.business_type or 'business type not chosen'} · verification "
        f"{view.profile.verification_status.value}"
    )
    console.print(
        f"payouts {'on' if allowed.payouts_enabled else 'off'} · "
        f"sales {'on' if allowed.sales_enabled else 'off'}"
        + (f" · {allowed.disabled_reason}" if allowed.disabled_reason else "")
    )
    table = Table("list", "requirements")
    for name in ("currently_due", "past_due", "pending_verification", "eventually_due"):
        table.add_row(name, ", ".join(r.value for r in getattr(state, name)) or "—")
    console.print(table)
    if state.current_deadline is not None:
        console.print(f"current deadline: {state.current_deadline:%Y-%m-%d %H:%M} UTC")
    for error in state.errors:
        console.print(f"[red]{error.requirement.value}[/] {error.code}: {error.reason}")


@app.command("queue")
@exits_cleanly
def queue(
    limit: Annotated[int, typer.Option(min=1, max=service.queue_page_size_max)] = 50,
) -> None:
    """Sellers compliance should look at: waiting for review, refused or past due."""
    items, _ = service.compliance_queue(open_database(), now=system_clock().now(), limit=limit)
    table = Table("seller", "country", "verification", "pending", "past due", "errors", "docs")
    for item in items:
        state = item.requirements
        table.add_row(
            item.seller_id,
            item.country,
            item.verification_status.value,
            ", ".join(r.value for r in state.pending_verification),
            ", ".join(r.value for r in state.past_due),
            ", ".join(e.code for e in state.errors),
            str(len(item.documents_to_review)),
        )
    console.print(table if items else "the queue is empty")


@app.command("poll")
@exits_cleanly
def poll(
    limit: Annotated[int, typer.Option(min=1, max=service.poll_batch_size_max)] = 200,
) -> None:
    """Send queued verifications to the provider and record its answers (the periodic job)."""
    report = service.poll_verifications(open_database(), system_clock().now(), limit=limit)
    console.print(
        f"submitted {report.submitted}, verified {report.verified}, "
        f"sent to review {report.sent_to_review}, still pending {report.still_pending}"
    )


@app.command("announce-past-due")
@exits_cleanly
def announce_past_due() -> None:
    """Announce `seller.capabilities_changed` for sellers whose deadline passed (sales stop)."""
    count = service.announce_past_due(open_database(), now=system_clock().now())
    console.print(f"{count} seller(s) re-assessed")


@app.command("purge-documents")
@exits_cleanly
def purge_documents() -> None:
    """Delete the bytes of documents whose retention ended (their records stay)."""
    count = service.purge_expired_documents(open_database(), now=system_clock().now())
    console.print(f"{count} document(s) purged")


@app.command("simulate")
@exits_cleanly
def simulate(
    seller_id: Annotated[str, typer.Argument(help="An existing seller (sel_…).")],
    business_type: Annotated[BusinessType, typer.Option()] = BusinessType.COMPANY,
    verify: Annotated[
        bool, typer.Option(help="Also run the simulated provider as if its delay had passed.")
    ] = True,
) -> None:
    """Onboard a seller with made-up, valid data and approved documents (demo, local tests)."""
    db, now = open_database(), system_clock().now()
    onboard_simulated_seller(db, seller_id, now=now, business_type=business_type)
    if verify:  # submit now, collect the answer as if the provider's delay had passed
        service.poll_verifications(db, now)
        service.poll_verifications(db, now + timedelta(seconds=get_settings().verification_delay_s))
    show(seller_id)
