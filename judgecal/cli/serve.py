"""``judgecal serve``: the HTTP service (approved judges, approval records, validations)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import typer

from judgecal.cli._common import boundary, err


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@boundary
def serve_command(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        envvar="JUDGECAL_SERVE_HOST",
        help="Address to listen on (default: loopback only).",
    ),
    port: int = typer.Option(
        8765, "--port", min=0, max=65535, envvar="JUDGECAL_SERVE_PORT", help="Port; 0 picks a free one."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="JUDGECAL_SERVE_TOKEN",
        help="Bearer token every request but /v1/health must send. Prefer the environment variable: "
        "options are visible to other users in `ps`.",
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Serve without authentication (anyone who reaches the port can use it)."
    ),
    max_body_bytes: int = typer.Option(
        1 << 20, "--max-body-bytes", min=1024, help="Largest request body accepted (413 above)."
    ),
    max_batch_items: int = typer.Option(
        100, "--max-batch-items", min=1, max=1000, help="Most items in one grading batch."
    ),
    max_queued_jobs: int = typer.Option(
        4, "--max-queued-jobs", min=1, help="Validations that may wait behind the running one (429 above)."
    ),
    policies: Path | None = typer.Option(
        None,
        "--policies",
        exists=True,
        file_okay=False,
        help="Folder of policy YAML files that validation requests may name (NAME -> NAME.yaml).",
    ),
    api_base: str | None = typer.Option(
        None, "--api-base", envvar="JUDGECAL_API_BASE", help="OpenAI-compatible base URL for the judges."
    ),
    header_timeout: float = typer.Option(
        10.0,
        "--header-timeout",
        min=0.1,
        envvar="JUDGECAL_SERVE_HEADER_TIMEOUT",
        help="Seconds a client has to send a request's line and headers (408, connection closed, after).",
    ),
    body_timeout: float = typer.Option(
        30.0,
        "--body-timeout",
        min=0.1,
        envvar="JUDGECAL_SERVE_BODY_TIMEOUT",
        help="Seconds a request body may take to arrive (408 after).",
    ),
    cors_origins: list[str] = typer.Option(
        [],
        "--cors-origin",
        envvar="JUDGECAL_CORS_ORIGINS",
        help="A browser origin (scheme://host[:port]) allowed to call the API; repeat for more. Default: "
        "none (CORS off). The environment variable takes several, separated by spaces.",
    ),
    metrics: str = typer.Option(
        "token",
        "--metrics",
        envvar="JUDGECAL_SERVE_METRICS",
        help="GET /metrics (Prometheus): 'token' (needs the bearer token), 'public' (no token), or 'off'.",
    ),
    idempotency_hours: float = typer.Option(
        24.0, "--idempotency-hours", min=0.01, help="How long an Idempotency-Key is remembered."
    ),
    openapi: Path | None = typer.Option(
        None, "--openapi", help="Write the OpenAPI spec (JSON) to this file and exit."
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn's log level."),
) -> None:
    """Serve approved judges over HTTP until interrupted (FastAPI + uvicorn).

    The first line printed is the base URL. Reference: docs/service.md and /docs on the server.
    """
    from judgecal.errors import ConfigError
    from judgecal.judge import Limits, Sampling
    from judgecal.service import create_app
    from judgecal.service.server import run
    from judgecal.settings import load_config

    if metrics not in ("token", "public", "off"):
        raise ConfigError(f"--metrics must be token, public or off, not {metrics!r}", field="--metrics")
    if openapi is not None:
        spec = create_app(token="openapi").openapi()
        openapi.parent.mkdir(parents=True, exist_ok=True)
        openapi.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        err.print(f"wrote {openapi}")
        return
    token = token.strip() if token is not None else None
    if no_auth and token:
        raise ConfigError("--no-auth and a token (--token or JUDGECAL_SERVE_TOKEN) contradict each other")
    if not no_auth and not token:
        raise ConfigError(
            "no token: pass --token or set JUDGECAL_SERVE_TOKEN (e.g. "
            "`export JUDGECAL_SERVE_TOKEN=$(openssl rand -hex 32)`), or --no-auth to serve without "
            "authentication"
        )
    if no_auth:
        where = "this machine" if _loopback(host) else f"ANY HOST THAT CAN REACH {host}"
        err.print(
            f"[bold red]WARNING: serving WITHOUT AUTHENTICATION: {where} can grade with your judges "
            "(spending your provider budget) and start validations.[/]"
        )
    elif token is not None and len(token) < 16:
        err.print("[yellow]warning: the token is shorter than 16 characters; use a long random one[/]")

    from judgecal.store import Store

    cfg = load_config().grade
    store = Store()
    app = create_app(
        token=None if no_auth else token,
        store=store,
        max_body_bytes=max_body_bytes,
        max_batch_items=max_batch_items,
        max_queued_jobs=max_queued_jobs,
        policy_dir=policies,
        api_base=api_base or cfg.api_base,
        limits=Limits(concurrency=cfg.concurrency, timeout=cfg.timeout, max_retries=cfg.max_retries),
        sampling=Sampling(temperature=cfg.temperature, max_tokens=cfg.max_tokens),
        body_timeout=body_timeout,
        cors_origins=cors_origins,
        metrics=metrics,  # type: ignore[arg-type]
        idempotency_ttl=idempotency_hours * 3600,
    )

    def ready(url: str) -> None:
        print(url, flush=True)
        err.print(
            f"judgecal service: {url}/v1/health · reference {url}/docs · "
            f"{'no authentication' if no_auth else 'bearer token required'} · Ctrl-C stops",
            highlight=False,
            soft_wrap=True,
        )

    try:
        run(app, host=host, port=port, on_ready=ready, log_level=log_level, header_timeout=header_timeout)
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the signal: a normal stop
        err.print("judgecal service: stopped")
    finally:
        store.close()
