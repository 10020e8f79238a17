"""The HTTP service: approved judges, approval records and validations over HTTP
(``judgecal serve``; reference in ``docs/service.md``).

>>> from judgecal.service import create_app
>>> app = create_app(token="s3cret-token-for-the-doctest")
>>> sorted(app.openapi()["paths"])  # doctest: +NORMALIZE_WHITESPACE
['/v1/approvals', '/v1/approvals/{approval_id}', '/v1/grade', '/v1/health', '/v1/judges',
 '/v1/validations', '/v1/validations/{job_id}']
"""

from judgecal.service.app import (
    DEFAULT_MAX_BATCH_ITEMS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_QUEUED_JOBS,
    create_app,
)
from judgecal.service.errors import ApiError, ErrorResponse
from judgecal.service.server import ServerThread

__all__ = [
    "DEFAULT_MAX_BATCH_ITEMS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_QUEUED_JOBS",
    "ApiError",
    "ErrorResponse",
    "ServerThread",
    "create_app",
]
