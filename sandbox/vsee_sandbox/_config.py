"""Sandbox settings (`SandboxConfig`) and the fixed names every part of the sandbox agrees on."""

from __future__ import annotations

import math
from dataclasses import dataclass

API_PREFIX = "/vc/next/api_v3"
CONTROL_PREFIX = "/_sandbox"

# Application credentials accepted by POST /users/sso (X-ApiKey / X-ApiSecret).
SSO_API_KEY = "demo-api-key"
SSO_API_SECRET = "demo-api-secret"


@dataclass
class SandboxConfig:
    """How a sandbox is seeded and how badly it behaves at start (and after a reset).

    `now` is the epoch second the seeded visits are placed around; the sandbox clock
    starts there and then runs at wall-clock speed. `None` means "the real time when
    the app (or a reset) is created".
    """

    seed: int = 7
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    now: float | None = None

    def __post_init__(self) -> None:
        for name in ("latency_ms", "jitter_ms"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"SandboxConfig.{name} must be a finite number >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("SandboxConfig.error_rate must be between 0 and 1")
        if self.now is not None and not math.isfinite(self.now):
            raise ValueError("SandboxConfig.now must be a finite epoch time")
