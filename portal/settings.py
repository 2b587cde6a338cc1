"""One frozen settings object, read from the environment once."""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var"))


def _secret_key() -> str:
    # A stable key survives restarts so sessions are not all dropped; generated once per install.
    key = os.environ.get("PORTAL_SECRET_KEY")
    if key:
        return key
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


WALLETS = ("alipay", "wechat_pay")  # the Stripe wallet methods the portal can take (R28)


def _wallets(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.strip().lower() for m in raw.split(",") if m.strip()))


def _proxies(raw: str) -> tuple[str, ...]:
    """PORTAL_TRUSTED_PROXIES: IPs or CIDRs whose X-Forwarded-For is believed (proxies.py).
    A bad entry stops start-up: a typo must not silently trust, or distrust, a proxy."""
    entries = tuple(p.strip() for p in raw.split(",") if p.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"PORTAL_TRUSTED_PROXIES: {entry!r} is not an IP address or "
                             "CIDR") from None
    return entries


def served_base_url(host: str, port: int) -> str:
    """The address `portal serve --host H --port P` is reached on, for links in emails when
    PORTAL_BASE_URL is unset. A wildcard host (0.0.0.0, ::) names this machine by its name."""
    if host in ("0.0.0.0", "::", ""):
        import socket

        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class UploadLimits:
    """Bounds on every file a user uploads (`portal/spreadsheets.py`). Read once at import, not
    per `Settings`: Litestar fixes each upload handler's body limit when its route is declared."""
    max_bytes: int = 5 * 1024 * 1024          # PORTAL_UPLOAD_MAX_BYTES: the file as sent
    max_unzipped_bytes: int = 20 * 1024 * 1024  # PORTAL_UPLOAD_MAX_UNZIPPED_BYTES: XLSX inside
    max_columns: int = 50                     # PORTAL_UPLOAD_MAX_COLUMNS: read, the rest ignored
    volume_rows: int = 20_000                 # PORTAL_VOLUME_IMPORT_MAX_ROWS: rows per file

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_unzipped_bytes, self.max_columns, self.volume_rows) < 1:
            raise ValueError("PORTAL_UPLOAD_* and PORTAL_VOLUME_IMPORT_MAX_ROWS must be positive")

    @classmethod
    def from_env(cls) -> UploadLimits:
        names = {"max_bytes": "PORTAL_UPLOAD_MAX_BYTES",
                 "max_unzipped_bytes": "PORTAL_UPLOAD_MAX_UNZIPPED_BYTES",
                 "max_columns": "PORTAL_UPLOAD_MAX_COLUMNS",
                 "volume_rows": "PORTAL_VOLUME_IMPORT_MAX_ROWS"}
        return cls(**{field: int(os.environ[name]) for field, name in names.items()
                      if os.environ.get(name, "").strip()})


UPLOADS = UploadLimits.from_env()


@dataclass(frozen=True)
class AttachmentSettings:
    """Photos and documents on records (`portal/attachments.py`, `portal/storage.py`)."""
    max_bytes: int = 10 * 1024 * 1024   # PORTAL_ATTACHMENT_MAX_BYTES: one file as sent
    directory: Path = VAR / "attachments"  # PORTAL_ATTACHMENT_DIR: local storage
    s3_endpoint: str = ""   # PORTAL_S3_ENDPOINT, e.g. https://minio.example.cn:9000 (set = use S3)
    s3_bucket: str = ""     # PORTAL_S3_BUCKET
    s3_access_key: str = ""  # PORTAL_S3_ACCESS_KEY
    s3_secret_key: str = ""  # PORTAL_S3_SECRET_KEY
    s3_region: str = "us-east-1"  # PORTAL_S3_REGION

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError("PORTAL_ATTACHMENT_MAX_BYTES must be positive")
        if self.s3_endpoint and not (self.s3_bucket and self.s3_access_key and self.s3_secret_key):
            raise ValueError("PORTAL_S3_ENDPOINT needs PORTAL_S3_BUCKET, PORTAL_S3_ACCESS_KEY "
                             "and PORTAL_S3_SECRET_KEY")

    @classmethod
    def from_env(cls) -> AttachmentSettings:
        env = os.environ
        values: dict[str, object] = {}
        if env.get("PORTAL_ATTACHMENT_MAX_BYTES", "").strip():
            values["max_bytes"] = int(env["PORTAL_ATTACHMENT_MAX_BYTES"])
        if env.get("PORTAL_ATTACHMENT_DIR", "").strip():
            values["directory"] = Path(env["PORTAL_ATTACHMENT_DIR"])
        for field in ("endpoint", "bucket", "access_key", "secret_key", "region"):
            if env.get(f"PORTAL_S3_{field.upper()}", "").strip():
                values[f"s3_{field}"] = env[f"PORTAL_S3_{field.upper()}"].strip()
        return cls(**values)  # type: ignore[arg-type]


ATTACHMENTS = AttachmentSettings.from_env()


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    secret_key: str
    debug: bool
    secure_cookies: bool
    base_url: str
    # True when PORTAL_BASE_URL (or an override) set base_url; else it is the address
    # `portal serve` listens on, and a page may use the request's own address instead (the
    # registration form's QR code)
    base_url_configured: bool = False
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "portal@localhost"
    smtp_starttls: bool = False
    db_pool: bool = True
    # Freeze the start-up heap and collect less often (issue 17): the portal's modules, routes
    # and templates are some 185,000 objects that every full collection would walk again.
    gc_tuned: bool = True
    stripe_secret_key: str | None = None
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # e.g. a local fake server in tests
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # seconds before a Stripe call is abandoned (its outcome is then unknown: R27 reconciles)
    stripe_timeout_seconds: float = 20.0

    # Wallet methods the Stripe account has enabled (PORTAL_STRIPE_WALLETS=alipay,wechat_pay);
    # offering one the account lacks would only fail at Stripe, so it is opt-in.
    stripe_wallets: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For gives the client's IP (login throttle); empty = none.
    trusted_proxies: tuple[str, ...] = ()
    # PORTAL_READ_REPLICA_URL: a streaming standby for dashboards, lists and exports (db.py
    # `on_replica`); unset = every read on the primary.
    read_replica_url: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.stripe_wallets) - set(WALLETS)
        if unknown:  # a typo must not silently switch a method off
            raise ValueError(f"PORTAL_STRIPE_WALLETS: unknown {sorted(unknown)}; use {WALLETS}")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = dict(
            database_url=os.environ.get("PORTAL_DATABASE_URL") or None,
            secret_key=_secret_key(),
            debug=_flag("PORTAL_DEBUG", False),
            secure_cookies=_flag("PORTAL_SECURE_COOKIES", True),
            base_url=os.environ.get("PORTAL_BASE_URL") or "http://127.0.0.1:8000",
            # an explicit base_url (PORTAL_BASE_URL or an override) is the portal's address
            base_url_configured=bool(os.environ.get("PORTAL_BASE_URL")) or "base_url" in overrides,
            smtp_host=os.environ.get("PORTAL_SMTP_HOST") or None,
            smtp_port=int(os.environ.get("PORTAL_SMTP_PORT", "25")),
            smtp_user=os.environ.get("PORTAL_SMTP_USER") or None,
            smtp_password=os.environ.get("PORTAL_SMTP_PASSWORD") or None,
            smtp_from=os.environ.get("PORTAL_SMTP_FROM", "portal@localhost"),
            smtp_starttls=_flag("PORTAL_SMTP_STARTTLS", False),
            db_pool=_flag("PORTAL_DB_POOL", True),
            gc_tuned=_flag("PORTAL_GC_TUNED", True),
            stripe_secret_key=os.environ.get("PORTAL_STRIPE_SECRET_KEY") or None,
            stripe_publishable_key=os.environ.get("PORTAL_STRIPE_PUBLISHABLE_KEY", ""),
            stripe_webhook_secret=os.environ.get("PORTAL_STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=os.environ.get("PORTAL_STRIPE_API_BASE") or None,
            stripe_js_url=os.environ.get("PORTAL_STRIPE_JS_URL", "https://js.stripe.com/v3/"),
            stripe_timeout_seconds=float(os.environ.get("PORTAL_STRIPE_TIMEOUT", "20")),
            stripe_wallets=_wallets(os.environ.get("PORTAL_STRIPE_WALLETS", "")),
            trusted_proxies=_proxies(os.environ.get("PORTAL_TRUSTED_PROXIES", "")),
            read_replica_url=os.environ.get("PORTAL_READ_REPLICA_URL") or None,
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
