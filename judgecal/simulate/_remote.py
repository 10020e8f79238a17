"""A judgecal simulator served by another process (``judgecal simulate serve``), found at a loopback
``api_base`` and taught over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from judgecal.simulate._config import SIMULATOR_SERVICE, SimItem

_LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")


def _is_loopback(host: str | None) -> bool:
    import ipaddress  # noqa: PLC0415

    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RemoteSimulator:
    """A judgecal simulator served by another process (``judgecal simulate serve``), reached over
    HTTP: the same ``add_items`` / ``stats`` as :class:`SimulatedJudge`, so judgecal teaches it
    the truth of derived items exactly as it teaches the one it starts itself."""

    def __init__(self, api_base: str, *, timeout: float = 10.0) -> None:
        self.api_base: str = api_base.rstrip("/")
        """The base URL requests go to (``http://127.0.0.1:PORT/v1``)."""
        self.timeout = timeout

    def _call(self, path: str, body: Any = None) -> Any:
        import urllib.request  # noqa: PLC0415

        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(f"{self.api_base}/judgecal/{path}", data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def health(self) -> dict[str, Any]:
        """``GET /v1/judgecal/health``: ``service``, ``models``, ``items``."""
        out: dict[str, Any] = self._call("health")
        return out

    def add_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> int:
        """``POST /v1/judgecal/items``: teach the items' truth; returns how many were new."""
        payload = [SimItem.model_validate(i).model_dump(mode="json") for i in items]
        if not payload:
            return 0
        return int(self._call("items", {"items": payload})["added"])

    def answers(self) -> list[dict[str, Any]]:
        """``GET /v1/judgecal/answers``: the server's answer log (:meth:`SimulatedJudge.answers`)."""
        out: list[dict[str, Any]] = self._call("answers")["answers"]
        return out

    def stats(self) -> dict[str, Any]:
        """The server's ``/stats`` counters."""
        import urllib.request  # noqa: PLC0415

        root = self.api_base.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/stats", timeout=self.timeout) as response:  # noqa: S310
            out: dict[str, Any] = json.loads(response.read())
        return out


def find_simulator(api_base: str | None, *, timeout: float = 2.0) -> RemoteSimulator | None:
    """The judgecal simulator at ``api_base``, or None. Only a loopback address is asked (a remote
    provider is never sent a probe request), with one ``GET /v1/judgecal/health`` whose answer must
    name :data:`SIMULATOR_SERVICE`; any error (404 from vLLM or llama.cpp, refused, timeout) is None.

    >>> find_simulator("https://api.openai.com/v1") is None  # not loopback: nothing is sent
    True
    """
    from urllib.parse import urlsplit  # noqa: PLC0415

    if not api_base:
        return None
    try:
        host = urlsplit(api_base).hostname
    except ValueError:
        return None
    if not _is_loopback(host):
        return None
    remote = RemoteSimulator(api_base, timeout=timeout)
    try:
        answer = remote.health()
    except (OSError, ValueError):  # URLError and HTTPError are OSErrors; bad JSON a ValueError
        return None
    if not isinstance(answer, dict) or answer.get("service") != SIMULATOR_SERVICE:
        return None
    remote.timeout = 30.0
    return remote
