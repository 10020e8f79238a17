"""The labelling web app (``judgecal label``): server-rendered pages, no CDN, works offline.

Every person has a link with their own token (``/a/<token>``); the coordinator has one too
(``/admin/<token>``). An annotator's pages show only their own items and labels; labelling is
blind unless the queue was made with ``blind=False`` (then the judge's verdict is shown). An
adjudicator's page shows the items where annotators disagree, with their labels. The state is the
store: a refresh or a server restart resumes where each person stopped.

Pages: ``GET /a/<token>`` (the next item, or ``?item=ID``), ``POST /a/<token>/label`` (a form;
answers 303 to the next item), ``POST /a/<token>/undo``; JSON for scripts:
``GET /a/<token>/api/next``, ``POST /a/<token>/api/labels``, ``GET /admin/<token>/api/agreement``.
A refused label (unknown token 403, item not in the queue 404, stale page 409, label off the
scale 422, bad form 400) stores nothing and says why.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from judgecal.errors import JudgecalError, LabelError
from judgecal.labels.agreement import live_agreement
from judgecal.labels.store import Access, LabelStore

if TYPE_CHECKING:
    from judgecal.labels._model import Label, QueueItem
    from judgecal.rubric import Rubric
    from judgecal.store import Store

__all__ = ["create_label_app", "shortcuts"]

_STATUS = {"unknown_token": 403, "not_in_queue": 404, "stale": 409, "off_scale": 422, "bad_request": 400}
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "labels"
_MODE_KEYS = "123456789"
_MAX_FORM = 64 * 1024


class _Form:
    def __init__(self, parsed: dict[str, list[str]]):
        self._parsed = parsed

    def get(self, name: str) -> str | None:
        values = self._parsed.get(name)
        return values[-1] if values else None

    def getlist(self, name: str) -> list[str]:
        return list(self._parsed.get(name, []))


def shortcuts(rubric: Rubric) -> list[dict[str, Any]]:
    """The scale's choices with their keys: digits in scale order, plus p/f (binary) and a/b/t
    (pairwise); ordinal levels carry their anchor text."""
    out = []
    letters = {"pass": "p", "fail": "f", "A": "a", "B": "b", "tie": "t"}
    levels: dict[Any, str] = dict(rubric.scale.levels or {})
    for i, label in enumerate(rubric.scale.labels, start=1):
        keys = [str(i)] if i <= 9 else []
        if str(label) in letters:
            keys.append(letters[str(label)])
        out.append({"label": str(label), "hotkeys": keys, "anchor": levels.get(label) if levels else None})
    return out


def create_label_app(store: Store, queue_name: str, rubric: Rubric) -> FastAPI:
    """The app for one queue of ``store``, labelled under ``rubric`` (checked against the queue's
    rubric hashes on every submission)."""
    labels = LabelStore(store)
    queue_id = labels.get_queue(queue_name).id
    env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=select_autoescape(["html"]))
    app = FastAPI(title="judgecal labelling", docs_url=None, redoc_url=None, openapi_url=None)
    choices = shortcuts(rubric)
    modes = [
        {"id": m.id, "description": m.description, "key": _MODE_KEYS[i] if i < len(_MODE_KEYS) else None}
        for i, m in enumerate(rubric.failure_modes)
    ]

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        nonce = secrets.token_urlsafe(12)
        html = env.get_template(name).render(
            rubric=rubric, choices=choices, modes=modes, nonce=nonce, **context
        )
        return HTMLResponse(html, status_code=status, headers=_headers(nonce))

    def who(token: str) -> Access:
        return labels.access(labels.get_queue(queue_id), token)

    def refused(
        exc: JudgecalError, *, as_json: bool, token: str | None = None, writing: bool = True
    ) -> Response:
        kind = getattr(exc, "kind", "bad_request")
        status = _STATUS.get(kind, 400)
        if as_json:
            return JSONResponse(
                {"error": {"code": kind, "message": str(exc)}}, status_code=status, headers=_headers(None)
            )
        back = f"/a/{token}" if token and kind != "unknown_token" else None
        return page("error.html", status, message=str(exc), kind=kind, back=back, writing=writing)

    def next_item(access: Access, mine: list[Label]) -> QueueItem | None:
        q = access.queue
        answered = {lab.item_id for lab in mine}
        if access.role == "adjudicator":
            pending = (d["item_id"] for d in labels.disagreements(q) if d["item_id"] not in answered)
            first = next(pending, None)
            return None if first is None else q.item(first)
        return next((it for it in q.items_for(access.name) if it.id not in answered), None)

    def progress(access: Access, mine: list[Label]) -> dict[str, int]:
        q = access.queue
        total = (
            len(labels.disagreements(q)) if access.role == "adjudicator" else len(q.items_for(access.name))
        )
        return {"answered": len(mine), "total": total}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return page("index.html", queue=labels.get_queue(queue_id))

    @app.get("/a/{token}", response_class=HTMLResponse)
    def annotate(token: str, item: str | None = None) -> Response:
        try:
            access = who(token)
            if access.admin:
                return RedirectResponse(f"/admin/{token}", status_code=303)
            q = access.queue
            mine = labels.labels(q, annotator=access.name)
            if item is not None:
                shown = q.item(item)
                allowed = shown is not None and (
                    access.role == "adjudicator" or access.name in shown.assigned
                )
                if not allowed:
                    raise LabelError(f"item {item!r} is not in {access.name}'s queue", kind="not_in_queue")
            else:
                shown = next_item(access, mine)
        except JudgecalError as exc:
            return refused(exc, as_json=False, token=token, writing=False)
        prog = progress(access, mine)
        if shown is None:
            return page("done.html", access=access, queue=q, progress=prog, token=token)
        current = next((lab for lab in mine if lab.item_id == shown.id), None)
        others = None
        if access.role == "adjudicator":
            others = {
                lab.annotator: lab.label
                for lab in labels.labels(q)
                if lab.item_id == shown.id and lab.role == "annotator" and lab.status == "labelled"
            }
        return page(
            "item.html",
            access=access,
            queue=q,
            item=shown,
            current=current,
            others=others,
            show_judge=not q.blind,
            progress=prog,
            token=token,
        )

    async def _form(request: Request) -> dict[str, Any]:
        # an HTML form without files is urlencoded: the standard library parses it
        if (
            request.headers.get("content-type", "").split(";")[0].strip()
            != "application/x-www-form-urlencoded"
        ):
            raise LabelError("the form must be sent as application/x-www-form-urlencoded")
        body = await request.body()
        if len(body) > _MAX_FORM:
            raise LabelError(f"the form is larger than {_MAX_FORM // 1024} KiB")
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise LabelError("the form is not UTF-8") from None
        form = _Form(parsed)
        skipped = bool(form.get("skip"))
        return {
            "item_id": str(form.get("item_id") or ""),
            "status": "skipped" if skipped else "unsure" if form.get("unsure") else "labelled",
            "label": None if skipped else str(form.get("label") or "") or None,
            "failure_modes": [str(v) for v in form.getlist("failure_modes")],
            "note": str(form.get("note") or "") or None,
            "item_hash": str(form.get("item_hash") or "") or None,
            "rubric_hash": str(form.get("rubric_hash") or "") or None,
        }

    @app.post("/a/{token}/label")
    async def label_form(token: str, request: Request) -> Response:
        try:
            values = await _form(request)
            if not values["item_hash"] or not values["rubric_hash"]:
                raise LabelError(
                    "the form lacks the page's item and rubric versions: reload the page", kind="stale"
                )
            labels.submit(who(token), rubric=rubric, **values)
        except JudgecalError as exc:
            return refused(exc, as_json=False, token=token)
        return RedirectResponse(f"/a/{token}", status_code=303)

    @app.post("/a/{token}/undo")
    def undo(token: str) -> Response:
        try:
            last = labels.undo(who(token))
        except JudgecalError as exc:
            return refused(exc, as_json=False, token=token)
        target = f"/a/{token}" + (f"?item={last.item_id}" if last else "")
        return RedirectResponse(target, status_code=303)

    @app.get("/a/{token}/api/next")
    def api_next(token: str) -> Response:
        try:
            access = who(token)
            if access.admin:
                raise LabelError("the coordinator's link does not label", kind="unknown_token")
        except JudgecalError as exc:
            return refused(exc, as_json=True)
        mine = labels.labels(access.queue, annotator=access.name)
        shown = next_item(access, mine)
        body: dict[str, Any] = {
            "progress": progress(access, mine),
            "rubric_hash": access.queue.rubric_hash,
            "item": None,
        }
        if shown is not None:
            body["item"] = {"id": shown.id, "inputs": shown.inputs, "item_hash": shown.item_hash}
        return JSONResponse(body, headers=_headers(None))

    @app.post("/a/{token}/api/labels")
    async def api_label(token: str, request: Request) -> Response:
        try:
            try:
                data = await request.json()
            except ValueError:
                raise LabelError("the body is not JSON") from None
            if not isinstance(data, dict):
                raise LabelError("the body must be a JSON object")
            unknown = set(data) - {
                "item_id",
                "status",
                "label",
                "failure_modes",
                "note",
                "item_hash",
                "rubric_hash",
            }
            if unknown:
                raise LabelError(f"unknown field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
            if not isinstance(data.get("item_id"), str):
                raise LabelError("item_id (a string) is required", field="item_id")
            modes = data.get("failure_modes") or []
            if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
                raise LabelError("failure_modes must be a list of strings", field="failure_modes")
            stored = labels.submit(
                who(token),
                rubric=rubric,
                item_id=data["item_id"],
                status=str(data.get("status", "labelled")),
                label=data.get("label"),
                failure_modes=modes,
                note=data.get("note"),
                item_hash=data.get("item_hash"),
                rubric_hash=data.get("rubric_hash"),
            )
        except JudgecalError as exc:
            return refused(exc, as_json=True)
        return JSONResponse(stored.model_dump(mode="json"), status_code=201, headers=_headers(None))

    def coordinator(token: str) -> Access:
        access = who(token)
        if not access.admin:
            raise LabelError("this needs the coordinator's link", kind="unknown_token")
        return access

    @app.get("/admin/{token}", response_class=HTMLResponse)
    def admin(token: str) -> Response:
        try:
            q = coordinator(token).queue
        except JudgecalError as exc:
            return refused(exc, as_json=False, writing=False)
        all_labels = labels.labels(q)
        return page(
            "admin.html",
            queue=q,
            figures=live_agreement(rubric, q, all_labels),
            disagreements=labels.disagreements(q),
            adjudicated={lab.item_id: lab for lab in all_labels if lab.role == "adjudicator"},
            adjudicators=[p for p, a in q.annotators.items() if a.role == "adjudicator"],
        )

    @app.get("/admin/{token}/api/agreement")
    def admin_agreement(token: str) -> Response:
        try:
            q = coordinator(token).queue
        except JudgecalError as exc:
            return refused(exc, as_json=True)
        return JSONResponse(live_agreement(rubric, q, labels.labels(q)), headers=_headers(None))

    return app


def _headers(nonce: str | None) -> dict[str, str]:
    """Tokens live in the URL: no caching, no referrer, no framing, scripts only with the nonce."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
    }
