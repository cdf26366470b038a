"""The HTTP client of the shipping partner."""

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

EXCERPT_LENGTH = 500
# EXTERNAL_API_URL=log: sends nothing: each notice is written to the log (local runs, demos).
LOG_SINK_URL = "log:"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartnerAnswer:
    status_code: int | None
    excerpt: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Connection errors, timeouts and 5xx are worth another try; a 4xx is not."""
        return self.status_code is None or self.status_code >= 500


def post_shipment(*, payload: dict[str, Any], idempotency_key: str) -> PartnerAnswer:
    """POSTs the payload to EXTERNAL_API_URL; never raises for network trouble."""
    if settings.EXTERNAL_API_URL == LOG_SINK_URL:
        logger.info(
            "event=partner_notice_logged idempotency_key=%s payload=%s", idempotency_key, json.dumps(payload)
        )
        return PartnerAnswer(status_code=202, excerpt='{"logged": true}')
    try:
        response = requests.post(
            settings.EXTERNAL_API_URL,
            json=payload,
            headers={"Idempotency-Key": idempotency_key},
            timeout=settings.EXTERNAL_API_TIMEOUT,
            # A redirect is the partner's answer, not an address to call next: following it
            # would send the order's data wherever a compromised or misconfigured URL points.
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return PartnerAnswer(status_code=None, error=f"{type(exc).__name__}: {exc}"[:2000])
    return PartnerAnswer(status_code=response.status_code, excerpt=response.text[:EXCERPT_LENGTH])
