"""Typed settings of the commerce service (environment variables with the ``SHOPSPHERE_`` prefix).

Example::

    SHOPSPHERE_DATABASE_URL=postgresql+psycopg://user:pw@127.0.0.1:5432/shop \
    SHOPSPHERE_MODE=production \
    SHOPSPHERE_API_KEY_PEPPER=$(openssl rand -hex 32) \
    SHOPSPHERE_BOOTSTRAP_API_KEYS='staff:0123456789abcdef0123' \
    shopsphere serve

Outside development mode the settings refuse the built-in development pepper and any bootstrap
key shorter than 20 characters or equal to a development default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PEPPER = "dev-insecure-pepper"
DEV_WEBHOOK_SECRET = "dev-insecure-webhook-secret"
DEV_KEYS = "staff:dev-staff-key,service:dev-service-key,customer:dev-customer-key:c-dev"
_DEV_TOKENS = {"dev-staff-key", "dev-service-key", "dev-customer-key"}
ROLES = ("customer", "staff", "service")


@dataclass(frozen=True, slots=True)
class BootstrapKey:
    """An API key created (hashed) at start-up: ``role:token`` or ``customer:token:customer_id``."""

    role: str
    token: str
    customer_id: str | None = None


def parse_bootstrap_keys(spec: str) -> list[BootstrapKey]:
    """Parse ``role:token[:customer_id]`` entries separated by commas.

    Raises:
        ValueError: naming the bad entry (unknown role, missing token, customer without id).
    """
    keys: list[BootstrapKey] = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) not in (2, 3) or not parts[1]:
            raise ValueError(f"bootstrap key {entry!r} must be role:token or customer:token:id")
        role = parts[0]
        if role not in ROLES:
            raise ValueError(f"bootstrap key role {role!r} is not one of {ROLES}")
        customer_id = parts[2] if len(parts) == 3 else None
        if role == "customer" and not customer_id:
            raise ValueError(f"customer bootstrap key {parts[1][:4]}... needs a customer id")
        keys.append(BootstrapKey(role=role, token=parts[1], customer_id=customer_id))
    return keys


class Settings(BaseSettings):
    """Deployable configuration. Durations are in seconds."""

    model_config = SettingsConfigDict(env_prefix="SHOPSPHERE_", extra="ignore")

    database_url: str = "sqlite:///./shopsphere.db"
    mode: Literal["development", "production"] = "development"
    api_key_pepper: str = DEV_PEPPER
    bootstrap_api_keys: str = Field(default=DEV_KEYS)
    reservation_ttl_seconds: int = Field(default=900, gt=0)
    unpaid_order_ttl_seconds: int = Field(default=1800, gt=0)
    db_pool_size: int = Field(
        default=20, ge=1, le=500, description="Pooled connections per worker process."
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=500,
        description="Extra connections per worker beyond the pool (bursts, sweeper). "
        "Keep workers x (db_pool_size + db_max_overflow) < PostgreSQL max_connections.",
    )
    threadpool_size: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Threads running sync routes per worker (default: db_pool_size, so requests "
        "in flight never exceed the pool and overflow connections are not opened and closed per "
        "request).",
    )
    payment_latency_ms: float = Field(default=0.0, ge=0)
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=1 << 30,
        description="Largest request body, enforced while reading (413 beyond).",
    )
    max_bulk_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        le=1 << 31,
        description="Largest body of a bulk endpoint (imports, prices, receipts, batches), for "
        "staff and service keys only.",
    )
    max_json_depth: int = Field(default=32, ge=4, le=1000, description="Deepest JSON nesting.")
    idempotency_wait_seconds: float = Field(default=5.0, ge=0)
    idempotency_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="An in-progress Idempotency-Key belongs to its request this long; then a "
        "retry may take it over (longer than the slowest request, gateway included).",
    )
    payment_grace_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="The reconciler resolves payments still pending this long after the order.",
    )
    sim_gateway_path: str | None = Field(
        default=None,
        description="Keep the simulated gateway's charges in this SQLite file (shared by the "
        "workers, surviving their crashes); default: in memory.",
    )
    sweep_interval_seconds: float = Field(
        default=30.0, ge=0, description="Expire reservations/unpaid orders this often; 0: off."
    )
    accept_sim_time_header: bool = Field(
        default=False,
        description="Stamp a request's records with its X-Simulated-Time header (the twin over "
        "HTTP). Refused in production mode.",
    )
    auto_create_schema: bool = Field(
        default=False, description="Run migrations at app start (development convenience)."
    )
    # ---- policy serving (api.services.policy_serving; validated when the app is built) ----
    replenishment_policy: str = Field(
        default="forecast_order_up_to",
        min_length=1,
        description="Registered replenishment policy served by default.",
    )
    replenishment_params: dict[str, Any] = Field(
        default_factory=dict, description="Its parameters (JSON)."
    )
    pricing_policy: str = Field(
        default="static", min_length=1, description="Registered pricing policy served by default."
    )
    pricing_params: dict[str, Any] = Field(
        default_factory=dict, description="Its parameters (JSON)."
    )
    policy_registry_dir: str | None = Field(
        default=None, description="Root of the RL policy registry."
    )
    replenishment_artifact: str | None = Field(
        default=None,
        description="Validated RL artifact ('name' or 'name@v0003') served instead of "
        "replenishment_policy; loaded and verified at start-up.",
    )
    pricing_artifact: str | None = Field(
        default=None, description="Validated RL artifact served instead of pricing_policy."
    )
    # ---- rate limits (api.ratelimit; 0 per second: off; buckets are per worker process) ----
    rate_limit_key_per_s: float = Field(default=0.0, ge=0, description="Requests/s per API key.")
    rate_limit_key_burst: int = Field(default=20, ge=1, description="Burst per API key.")
    rate_limit_ip_per_s: float = Field(default=0.0, ge=0, description="Requests/s per address.")
    rate_limit_ip_burst: int = Field(default=200, ge=1, description="Burst per client address.")
    rate_limit_trust_forwarded: bool = Field(
        default=False, description="Client address from X-Forwarded-For (behind a proxy)."
    )
    max_in_flight: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="Requests one worker serves at once; more are shed with 503 OVERLOADED "
        "(0: no shedding).",
    )
    # ---- waiting room for hot SKUs (api.waiting_room; empty list: off) ----
    waiting_room_skus: str = Field(default="", description="Comma-separated gated SKUs.")
    waiting_room_admit_per_s: float = Field(default=1.0, gt=0, description="Admissions/s per SKU.")
    waiting_room_burst: int = Field(default=10, ge=0, description="Admitted at once on opening.")
    waiting_room_token_ttl_seconds: int = Field(default=300, gt=0)
    # ---- webhooks from the transactional outbox (api.webhooks; no endpoints: events wait) ----
    webhook_endpoints: str = Field(
        default="", description="Comma-separated name=url receivers of the order events."
    )
    webhook_secret: str = Field(
        default=DEV_WEBHOOK_SECRET, description="HMAC-SHA256 key of the webhook signatures."
    )
    webhook_dispatch_in_app: bool = Field(
        default=True, description="Run a dispatcher thread in each worker (else: the CLI's)."
    )
    webhook_max_attempts: int = Field(default=10, ge=1, le=100, description="Then dead-letter.")
    webhook_backoff_base_seconds: float = Field(default=1.0, gt=0, le=3600)
    webhook_backoff_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    webhook_lease_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="A claimed delivery is retried after this."
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    webhook_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    webhook_batch: int = Field(default=100, ge=1, le=10_000)
    webhook_concurrency: int = Field(default=8, ge=1, le=256)
    replenishment_lead_time_days: int = Field(default=2, ge=0, le=365)
    policy_history_days: int = Field(
        default=28, ge=2, le=730, description="Days of sales history read for a decision."
    )
    pricing_days_left: int = Field(
        default=90, ge=0, le=3650, description="Selling days left assumed when a quote names none."
    )
    pricing_min_price_ratio: float = Field(
        default=0.5, ge=0, le=100, description="Lowest quoted price, times list price."
    )
    pricing_max_price_ratio: float = Field(
        default=1.5, gt=0, le=100, description="Highest quoted price, times list price."
    )

    @field_validator("database_url")
    @classmethod
    def _url_known(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError(f"database_url {v!r} must be sqlite:/// or postgresql+psycopg://")
        return v

    @field_validator("webhook_endpoints")
    @classmethod
    def _endpoints_parse(cls, v: str) -> str:
        from api.webhooks import parse_endpoints

        parse_endpoints(v)
        return v

    @field_validator("bootstrap_api_keys")
    @classmethod
    def _keys_parse(cls, v: str) -> str:
        parse_bootstrap_keys(v)
        return v

    @model_validator(mode="after")
    def _no_default_secrets(self) -> Settings:
        if self.mode == "production" and self.accept_sim_time_header:
            raise ValueError(
                "SHOPSPHERE_ACCEPT_SIM_TIME_HEADER is refused in production mode: no request may "
                "set the clock of a production server"
            )
        if self.mode == "development":
            return self
        if (
            not self.api_key_pepper
            or self.api_key_pepper == DEV_PEPPER
            or len(self.api_key_pepper) < 16
        ):
            raise ValueError(
                "SHOPSPHERE_API_KEY_PEPPER must be set to a secret of at least 16 characters "
                "outside development mode"
            )
        if self.webhook_endpoints and (
            self.webhook_secret == DEV_WEBHOOK_SECRET or len(self.webhook_secret) < 16
        ):
            raise ValueError(
                "SHOPSPHERE_WEBHOOK_SECRET must be set to a secret of at least 16 characters "
                "outside development mode when webhook endpoints are configured"
            )
        for key in parse_bootstrap_keys(self.bootstrap_api_keys):
            if key.token in _DEV_TOKENS or len(key.token) < 20:
                raise ValueError(
                    f"bootstrap {key.role} key {key.token[:4]}... is a development default or "
                    "shorter than 20 characters; refused outside development mode"
                )
        return self

    @property
    def connections_per_worker(self) -> int:
        """Most PostgreSQL connections one worker process can open (pool + overflow)."""
        return self.db_pool_size + self.db_max_overflow

    @property
    def bootstrap_keys(self) -> list[BootstrapKey]:
        return parse_bootstrap_keys(self.bootstrap_api_keys)
