"""`sellerpay screening …`: load a sanctions list version, rescreen, check one name, and measure
the matcher's precision and recall on the labelled pairs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.markup import escape
from rich.table import Table

from sellerpay.cli.audit import cli_actor
from sellerpay.cli.runtime import (
    console,
    exits_cleanly,
    open_database,
    require_current_schema,
    system_clock,
)
from sellerpay.errors import InvalidInput
from sellerpay.screening import service
from sellerpay.screening.lists import parse_eu_xml, parse_ofac_xml
from sellerpay.screening.rules import (
    EntityType,
    Evaluation,
    ListEntry,
    SanctionsList,
    evaluate,
    parse_labelled_pairs,
)
from sellerpay.settings import get_settings

app = typer.Typer(
    help="Sanctions screening: list versions, rescreening, the matcher's measurements.",
    no_args_is_help=True,
)
DEFAULT_DATA: Final = Path("tests") / "screening" / "data"
sweep_thresholds: Final = tuple(range(70, 96, 2))


@app.command("load")
@exits_cleanly
def load(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="sdn.xml, the EU's XML, a ZIP, or OFAC's sdn.csv with add.csv and alt.csv",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    list_name: Annotated[SanctionsList, typer.Option("--list", help="Which list the files are.")],
    rescreen: Annotated[bool, typer.Option(help="Rescreen what changed after loading.")] = True,
) -> None:
    """Store the files as the list's new version (unless the content is the current version's)
    and rescreen: changed entries against every party, all entries against changed parties."""
    db = open_database()
    require_current_schema(db)
    contents = {path.name: path.read_bytes() for path in files}
    result = service.load_list(
        db, list_name, contents, actor=cli_actor(), clock=system_clock(), rescreen_after=rescreen
    )
    version = result.version
    if not result.created:
        console.print(
            f"{list_name.value} {escape(version.version)}: the same content is already the "
            f"current version ({version.id}); nothing loaded"
        )
        return
    console.print(
        f"[green]loaded[/] {list_name.value} {escape(version.version)} as {version.id}: "
        f"{version.entry_count} entries, {version.added_count} added, "
        f"{version.changed_count} changed, {version.removed_count} removed"
    )
    if result.rescreen is not None:
        _print_rescreen(result.rescreen)


@app.command("rescreen")
@exits_cleanly
def rescreen(
    full: Annotated[
        bool, typer.Option(help="Screen every party against every entry, not only changes.")
    ] = False,
) -> None:
    """Bring the parties in step with sellers and onboarding, then screen the new and changed
    ones (every one with --full) against the current lists."""
    db = open_database()
    require_current_schema(db)
    _print_rescreen(service.rescreen(db, clock=system_clock(), full=full))


def _print_rescreen(report: service.RescreenReport) -> None:
    console.print(
        f"parties changed {report.subjects_changed}; screened against every entry "
        f"{report.subjects_screened_in_full}, against the {report.entries_changed} changed "
        f"entries {report.subjects_screened_for_changes}; matches opened "
        f"{report.matches_opened}, updated {report.matches_updated}"
    )


@app.command("check")
@exits_cleanly
def check(
    names: Annotated[list[str], typer.Argument(help="The party's name (several forms allowed).")],
    entity_type: Annotated[
        EntityType | None, typer.Option("--type", help="individual or entity")
    ] = None,
    born: Annotated[str | None, typer.Option(help="Date of birth, YYYY-MM-DD.")] = None,
    country: Annotated[list[str] | None, typer.Option(help="ISO country code(s).")] = None,
) -> None:
    """Screen one party against the current lists, storing nothing; exits 1 on a match."""
    date_of_birth = None
    if born is not None:
        try:
            date_of_birth = date.fromisoformat(born)
        except ValueError:
            raise InvalidInput(f"--born {born!r} is not YYYY-MM-DD", code="invalid_date") from None
    hits = service.screen_party(
        open_database(),
        names=names,
        entity_type=entity_type,
        date_of_birth=date_of_birth,
        countries=country or (),
    )
    if not hits:
        console.print("[green]no match[/] at or above the threshold")
        return
    table = Table("score", "list", "entry", "listed name", "reasons")
    for hit in hits:
        table.add_row(
            str(hit.match.score),
            hit.entry.list_name,
            hit.entry.entry_id,
            escape(hit.entry.primary_name),
            escape("; ".join(hit.match.reasons)),
        )
    console.print(table)
    raise typer.Exit(1)


@app.command("evaluate")
@exits_cleanly
def evaluate_command(
    data: Annotated[
        Path,
        typer.Option(help="Folder with labelled_pairs.csv and the list fixtures (ofac/, eu/)."),
    ] = DEFAULT_DATA,
    threshold: Annotated[
        int | None, typer.Option(min=0, max=100, help="Default: the configured threshold.")
    ] = None,
    show_wrong: Annotated[bool, typer.Option(help="List the pairs the matcher got wrong.")] = False,
) -> None:
    """Precision and recall of the matcher on the labelled pairs (and the held-out pairs), at the
    threshold and at a sweep of thresholds around it."""
    chosen = get_settings().screening_match_threshold if threshold is None else threshold
    entries = _fixture_entries(data)
    for file_name in ("labelled_pairs.csv", "labelled_pairs_holdout.csv"):
        path = data / file_name
        if not path.is_file():
            continue
        pairs = parse_labelled_pairs(path.read_text(encoding="utf-8"))
        result = evaluate(pairs, entries, threshold=chosen)
        console.print(
            f"[bold]{file_name}[/]: {len(pairs)} pairs at threshold {chosen}: precision "
            f"{result.precision:.3f}, recall {result.recall:.3f} (TP {result.true_positives}, "
            f"FP {result.false_positives}, FN {result.false_negatives}, TN "
            f"{result.true_negatives})",
            soft_wrap=True,
        )
        _print_sweep([evaluate(pairs, entries, threshold=t) for t in sweep_thresholds])
        if show_wrong:
            _print_wrong(result)


def _fixture_entries(data: Path) -> dict[tuple[str, str], ListEntry]:
    ofac, eu = data / "ofac" / "sdn.xml", data / "eu" / "eu-fsf.xml"
    if not ofac.is_file() or not eu.is_file() or not (data / "labelled_pairs.csv").is_file():
        raise InvalidInput(
            f"{data} has no labelled_pairs.csv, ofac/sdn.xml and eu/eu-fsf.xml: run from the "
            "repository's root or pass --data",
            code="evaluation_data_missing",
        )
    entries: dict[tuple[str, str], ListEntry] = {}
    for parsed in (parse_ofac_xml(ofac.read_bytes()), parse_eu_xml(eu.read_bytes())):
        entries.update({(e.list_name, e.entry_id): e for e in parsed.entries})
    return entries


def _print_sweep(results: list[Evaluation]) -> None:
    table = Table("threshold", "precision", "recall", "TP", "FP", "FN", "TN")
    for result in results:
        table.add_row(
            str(result.threshold),
            f"{result.precision:.3f}",
            f"{result.recall:.3f}",
            str(result.true_positives),
            str(result.false_positives),
            str(result.false_negatives),
            str(result.true_negatives),
        )
    console.print(table)


def _print_wrong(result: Evaluation) -> None:
    table = Table("expected", "score", "party", "entry", "case")
    for pair, score in result.wrong:
        table.add_row(
            "match" if pair.expected else "no match",
            str(score),
            escape(" | ".join(pair.party.names)),
            f"{pair.list_name} {pair.entry_id}",
            pair.case,
        )
    console.print(table)
