"""``judgecal label`` (make a queue and serve the labelling app) and ``judgecal labels`` (list,
serve again, links, agreement, export; Label Studio and Argilla files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from judgecal.cli._common import boundary, err, out
from judgecal.cli.serve import _loopback

if TYPE_CHECKING:
    from judgecal.labels import Queue
    from judgecal.rubric import Rubric
    from judgecal.store import Store

labels_app = typer.Typer(
    help="Labelling queues: serve again, links, agreement, export to a gold set; Label Studio and Argilla.",
    no_args_is_help=True,
)

_HOST = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: loopback only).")
_PORT = typer.Option(0, "--port", min=0, max=65535, help="Port; 0 (the default) picks a free one.")


def _rubric_of(queue: Queue) -> Rubric:
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    return find_rubric(queue.rubric_path if Path(queue.rubric_path).is_dir() else queue.rubric_name)


def _print_links(url: str, queue: Queue, tokens: dict[str, str]) -> None:
    for name, token in tokens.items():
        if name == "admin":
            continue
        role = queue.annotators[name].role
        out.print(f"{escape(name)} ({role}): {url}/a/{token}", highlight=False, soft_wrap=True)
    if "admin" in tokens:
        out.print(f"coordinator: {url}/admin/{tokens['admin']}", highlight=False, soft_wrap=True)


def _serve(store: Store, queue: Queue, rubric: Rubric, host: str, port: int, tokens: dict[str, str]) -> None:
    from judgecal.labels.app import create_label_app  # noqa: PLC0415
    from judgecal.service.server import run  # noqa: PLC0415

    if not _loopback(host):
        err.print(
            f"[yellow]warning:[/] serving on {escape(host)}: "
            "anyone who can reach it and has a link can label",
            highlight=False,
            soft_wrap=True,
        )
    app = create_label_app(store, queue.id, rubric)

    def ready(url: str) -> None:
        print(url, flush=True)
        if tokens:
            _print_links(url, queue, tokens)
        else:
            out.print(
                "links: the ones printed when the queue was made (new ones: judgecal labels link QUEUE NAME)",
                highlight=False,
                soft_wrap=True,
            )
        err.print(
            f"judgecal labelling: queue {escape(queue.name)} · Ctrl-C stops", highlight=False, soft_wrap=True
        )

    try:
        run(app, host=host, port=port, on_ready=ready, log_level="warning")
    except KeyboardInterrupt:
        err.print("judgecal labelling: stopped (labels are in the store)")


@boundary
def label_command(
    rubric: str = typer.Argument(..., help="The rubric to label under (name or folder)."),
    gold: str | None = typer.Option(None, "--gold", help="Label the items of a gold set (name or file)."),
    items: Path | None = typer.Option(
        None, "--items", help="Label the items of an items file (gold format, labels optional)."
    ),
    run_id: str | None = typer.Option(None, "--run", help="Label the items a stored grading run graded."),
    record: str | None = typer.Option(
        None,
        "--for",
        help="Build the queue that would decide this inconclusive approval record (needs --pool).",
    ),
    pool: Path | None = typer.Option(None, "--pool", help="With --for: the unlabelled items to draw from."),
    n: int | None = typer.Option(
        None, "--n", min=1, help="With --for: how many items to draw (default: what the record needs)."
    ),
    targeted: int = typer.Option(
        0,
        "--targeted",
        min=0,
        help="With --for: also label this many items where --disagree runs differ (they go to dev).",
    ),
    disagree: list[str] = typer.Option(
        [], "--disagree", help="With --targeted: a run whose verdicts to compare (twice or more)."
    ),
    annotator: list[str] = typer.Option(
        [], "--annotator", "-a", help="An annotator's name (repeat for each)."
    ),
    adjudicator: list[str] = typer.Option(
        [], "--adjudicator", help="Someone who settles disagreements (not an annotator)."
    ),
    overlap: float = typer.Option(
        0.25,
        "--overlap",
        min=0.0,
        max=1.0,
        help="Share of items every annotator labels (for agreement and the ceiling).",
    ),
    queue_name: str | None = typer.Option(
        None, "--queue", help="The queue's name (default: RUBRIC-<date>-<n>)."
    ),
    not_blind: bool = typer.Option(
        False, "--show-judge", help="Show the judge's verdict to annotators (not blind)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the draw and of the assignment."),
    host: str = _HOST,
    port: int = _PORT,
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Make the queue and print the links; do not serve."
    ),
) -> None:
    """Make a labelling queue and serve the labelling app: prints one link per person (their token
    is in it: send each person their own) and the coordinator's link."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from judgecal.errors import ConfigError  # noqa: PLC0415
    from judgecal.gold import find_gold, load_gold  # noqa: PLC0415
    from judgecal.labels.queue import items_from_gold, items_from_run, plan_for_record  # noqa: PLC0415
    from judgecal.labels.store import LabelStore  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    sources = [x for x in (gold, items, run_id, record) if x is not None]
    if len(sources) != 1:
        raise ConfigError("give exactly one of --gold, --items, --run or --for (where the items come from)")
    if pool is not None and record is None:
        raise ConfigError("--pool goes with --for RECORD_ID")
    if not annotator:
        raise ConfigError("name the annotators: --annotator NAME (once for each person)")
    loaded = find_rubric(rubric)
    store = Store()
    try:
        plan: dict[str, Any] = {}
        for_record = None
        if gold is not None:
            gs = find_gold(gold, loaded, require_labels=False)
            queue_items = items_from_gold(gs, annotator, overlap=overlap, seed=seed)
            source = f"gold:{gs.path}"
        elif items is not None:
            gs = load_gold(items, loaded, require_labels=False)
            queue_items = items_from_gold(gs, annotator, overlap=overlap, seed=seed)
            source = f"items:{gs.path}"
        elif run_id is not None:
            full, queue_items = items_from_run(store, run_id, loaded, annotator, overlap=overlap, seed=seed)
            source = f"run:{full}"
        else:
            if pool is None:
                raise ConfigError("--for needs --pool FILE: the unlabelled items to draw the queue from")
            pool_set = load_gold(pool, loaded, require_labels=False)
            qp = plan_for_record(
                store,
                str(record),
                pool_set.items,
                annotator,
                overlap=overlap,
                seed=seed,
                n=n,
                n_targeted=targeted,
                disagree=disagree,
            )
            if qp.rubric != loaded.name:
                raise ConfigError(
                    f"record {qp.record_id[:12]} is for rubric {qp.rubric!r}, not {loaded.name!r}"
                )
            queue_items, plan, for_record = qp.items, qp.as_dict(), qp.record_id
            source = f"record:{qp.record_id}"
            per_class = ", ".join(f"{v} {k}" for k, v in qp.needed_per_class.items()) or "—"
            err.print(
                f"record {qp.record_id[:12]} is {qp.tier}: it needs about {qp.needed_total} more labels "
                f"({per_class}); drawing {qp.n_random} at random from {qp.pool_size} pool items"
                + (f" and {qp.n_targeted} targeted (pinned to dev)" if qp.n_targeted else "")
                + (
                    f"; {qp.n_multi} go to every annotator (the human ceiling needs test items "
                    f"labelled by >= {qp.ceiling_annotators} people)"
                    if qp.n_multi
                    else ""
                ),
                highlight=False,
                soft_wrap=True,
            )
        ls = LabelStore(store)
        name = queue_name or f"{loaded.name}-{datetime.now(UTC):%Y%m%d}-{len(ls.list_queues()) + 1}"
        queue, tokens = ls.create_queue(
            name=name,
            rubric=loaded,
            items=queue_items,
            annotators=annotator,
            adjudicators=adjudicator,
            source=source,
            for_record=for_record,
            blind=not not_blind,
            overlap=overlap,
            plan=plan,
        )
        err.print(
            f"queue {escape(queue.name)}: {len(queue.items)} items, {len(annotator)} annotator(s), "
            f"overlap {overlap:g}; export: judgecal labels export {escape(queue.name)} --out FILE",
            highlight=False,
            soft_wrap=True,
        )
        if no_serve:
            _print_links("http://HOST:PORT", queue, tokens)
            return
        _serve(store, queue, loaded, host, port, tokens)
    finally:
        store.close()


@labels_app.command("serve")
@boundary
def serve_command(
    queue: str = typer.Argument(..., help="The queue (name or id)."),
    host: str = _HOST,
    port: int = _PORT,
) -> None:
    """Serve a queue again (after a restart): everyone's labels and links still hold."""
    from judgecal.labels.store import LabelStore  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    store = Store()
    try:
        q = LabelStore(store).get_queue(queue)
        _serve(store, q, _rubric_of(q), host, port, {})
    finally:
        store.close()


@labels_app.command("list")
@boundary
def list_command() -> None:
    """Every labelling queue, with its progress."""
    from judgecal.labels.store import LabelStore  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    store = Store()
    try:
        ls = LabelStore(store)
        table = Table("queue", "rubric", "items", "answers", "source", "created", box=None)
        for q in ls.list_queues():
            table.add_row(
                escape(q.name),
                q.rubric_name,
                str(len(q.items)),
                str(len(ls.labels(q))),
                escape(q.source),
                f"{q.created_at:%Y-%m-%d %H:%M}",
            )
        out.print(table)
    finally:
        store.close()


@labels_app.command("link")
@boundary
def link_command(
    queue: str = typer.Argument(..., help="The queue (name or id)."),
    person: str = typer.Argument(..., help="An annotator's or adjudicator's name, or 'admin'."),
    base_url: str = typer.Option(
        "http://127.0.0.1:PORT", "--url", help="The server's address, for the printed link."
    ),
) -> None:
    """A new link for a person (a lost link): the old one stops working; their labels stay."""
    from judgecal.labels.store import LabelStore  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    store = Store()
    try:
        ls = LabelStore(store)
        q = ls.get_queue(queue)
        token = ls.new_token_for(q, person)
        path = f"/admin/{token}" if person == "admin" else f"/a/{token}"
        out.print(f"{escape(person)}: {base_url.rstrip('/')}{path}", highlight=False, soft_wrap=True)
    finally:
        store.close()


@labels_app.command("status")
@boundary
def status_command(
    queue: str = typer.Argument(..., help="The queue (name or id)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Progress per annotator and the agreement between them so far."""
    from judgecal.labels.agreement import live_agreement  # noqa: PLC0415
    from judgecal.labels.store import LabelStore  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    store = Store()
    try:
        ls = LabelStore(store)
        q = ls.get_queue(queue)
        fig = live_agreement(_rubric_of(q), q, ls.labels(q))
    finally:
        store.close()
    if as_json:
        print(json.dumps(fig, indent=2))
        return
    table = Table("annotator", "answered", "labelled", "unsure", "skipped", box=None)
    for name, p in fig["progress"].items():
        table.add_row(
            escape(name),
            f"{p['answered']}/{p['assigned']}",
            str(p["labelled"]),
            str(p["unsure"]),
            str(p["skipped"]),
        )
    out.print(table)
    for p in fig["pairs"]:
        kappa = "—" if p["kappa"] is None else f"{p['kappa']:.3f}"
        out.print(
            f"{escape(p['a'])}–{escape(p['b'])}: {fig['kappa_kind']} {kappa} on {p['n']} shared items",
            highlight=False,
            soft_wrap=True,
        )
    alpha = "—" if fig["alpha"] is None else f"{fig['alpha']:.3f}"
    out.print(
        f"Krippendorff's α ({fig['alpha_level']}) {alpha} on {fig['alpha_items']} items; "
        f"{fig['disagreements']} disagreements, {fig['adjudicated']} adjudicated",
        highlight=False,
        soft_wrap=True,
    )


@labels_app.command("export")
@boundary
def export_command(
    queue: str = typer.Argument(..., help="The queue (name or id)."),
    out_file: Path = typer.Option(..., "--out", "-o", help="The gold JSONL file to write."),
    with_gold: bool | None = typer.Option(
        None,
        "--with-gold/--queue-only",
        help="Put the record's gold items first (default for a queue made with --for).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
) -> None:
    """Write the queue's labels as a gold set (one annotator column each) that calibrate and
    validate read."""
    from judgecal.gold import load_gold  # noqa: PLC0415
    from judgecal.labels.export import export_lines, pinned, write_jsonl  # noqa: PLC0415
    from judgecal.labels.store import LabelStore  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    store = Store()
    try:
        ls = LabelStore(store)
        q = ls.get_queue(queue)
        rubric = _rubric_of(q)
        base: list[Any] = []
        if (q.for_record is not None) if with_gold is None else with_gold:
            if q.for_record is None:
                raise typer.BadParameter("--with-gold needs a queue made with --for RECORD_ID")
            cert = store.get_certificate(q.for_record)
            base = pinned(load_gold(cert.gold_path, rubric))
        lines, counts = export_lines(q, ls.labels(q), base=base)
    finally:
        store.close()
    target = write_jsonl(lines, out_file, force=force)
    load_gold(target, rubric)  # what was written reads back as a gold set of this rubric
    err.print(
        f"wrote {target}: {counts['items']} labelled items"
        + (f" after {counts['base']} of the record's gold set" if counts["base"] else "")
        + f" ({counts['labels']} labels; left out: {counts['unlabelled']} items without a label; "
        f"{counts['unsure']} unsure and {counts['skipped']} skipped answers; "
        f"{counts['adjudicated']} adjudicated)",
        highlight=False,
        soft_wrap=True,
    )


@labels_app.command("tasks")
@boundary
def tasks_command(
    rubric: str = typer.Argument(..., help="The rubric (name or folder)."),
    items: str = typer.Option(..., "--items", help="The items (a gold set or items file)."),
    tool: str = typer.Option(..., "--format", help="label-studio or argilla."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="A folder to write the task files to."),
) -> None:
    """Export items as tasks for Label Studio (tasks JSON + labeling config XML) or Argilla
    (dataset settings + records JSON), to label there and calibrate here."""
    from judgecal.gold import find_gold  # noqa: PLC0415
    from judgecal.labels import interop  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    if tool not in ("label-studio", "argilla"):
        raise typer.BadParameter(f"--format {tool!r}: use label-studio or argilla")
    loaded = find_rubric(rubric)
    gs = find_gold(items, loaded, require_labels=False)
    rows = [{"id": it.id, "inputs": dict(it.inputs), "metadata": dict(it.metadata)} for it in gs.items]
    out_dir.mkdir(parents=True, exist_ok=True)
    if tool == "label-studio":
        tasks, config = interop.to_label_studio(loaded, rows)
        written = [
            _write(out_dir / "tasks.json", json.dumps(tasks, indent=1, ensure_ascii=False)),
            _write(out_dir / "labeling-config.xml", config),
        ]
    elif tool == "argilla":
        dataset = interop.to_argilla(loaded, rows)
        written = [
            _write(out_dir / "argilla-dataset.json", json.dumps(dataset, indent=1, ensure_ascii=False))
        ]
    else:
        raise typer.BadParameter(f"--format {tool!r}: use label-studio or argilla")
    err.print(
        f"wrote {', '.join(str(p) for p in written)} ({len(rows)} items)", highlight=False, soft_wrap=True
    )


def _write(path: Path, text: str) -> Path:
    from judgecal._files import write_atomic  # noqa: PLC0415

    write_atomic(path, text + ("" if text.endswith("\n") else "\n"))
    return path


@labels_app.command("import")
@boundary
def import_command(
    rubric: str = typer.Argument(..., help="The rubric the labels are for (name or folder)."),
    file: Path = typer.Argument(..., help="A Label Studio JSON export or Argilla records export."),
    tool: str = typer.Option(..., "--format", help="label-studio or argilla."),
    out_file: Path = typer.Option(..., "--out", "-o", help="The gold JSONL file to write."),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
) -> None:
    """Turn labels exported from Label Studio or Argilla into a gold set."""
    from judgecal.gold import load_gold  # noqa: PLC0415
    from judgecal.labels import interop  # noqa: PLC0415
    from judgecal.labels.export import write_jsonl  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    loaded = find_rubric(rubric)
    if tool == "label-studio":
        got = interop.from_label_studio(file, loaded)
    elif tool == "argilla":
        got = interop.from_argilla(file, loaded)
    else:
        raise typer.BadParameter(f"--format {tool!r}: use label-studio or argilla")
    target = write_jsonl([it.model_dump(mode="json") for it in got], out_file, force=force)
    gs = load_gold(target, loaded)
    err.print(
        f"wrote {target}: {len(gs.items)} items, annotators {', '.join(gs.annotators)}",
        highlight=False,
        soft_wrap=True,
    )
