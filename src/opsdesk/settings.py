"""The one settings object: every knob comes from an ``OPSDESK_*`` environment variable.

The Temporal connection itself is not configured here: it uses Temporal's own
environment configuration (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
``TEMPORAL_API_KEY``, TLS, ``TEMPORAL_PROFILE``), so the same knobs work as for the
Temporal CLI. See ``opsdesk.temporal.client``.
"""

from __future__ import annotations

from datetime import time, timedelta
from importlib.metadata import version
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_limit
from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from opsdesk.keys import parse_keys
from opsdesk.values import Email

Port = Annotated[int, Field(ge=1, le=65535)]
Score = Annotated[int, Field(ge=0, le=101)]


VendorDocumentKind = Literal["general_liability", "workers_comp", "licence"]
"""A vendor's compliance document: an insurance certificate (general liability, workers'
compensation) or a trade licence (``opsdesk.maintenance.documents``)."""


DEPLOYMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
BUILD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$"
"""Temporal names a version ``<deployment>:<build id>``; neither part may hold a colon."""


def package_version() -> str:
    """The installed package's version: the build id of a build that names none."""
    return version("opsdesk")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSDESK_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    """``production`` refuses to start without the keys every process must share
    (``OPSDESK_LINK_SECRET``, ``OPSDESK_SESSION_SECRET``, ``OPSDESK_PAYLOAD_KEYS``): in
    development each is generated once into ``data_dir``, which on several hosts would give
    each host keys of its own, silently."""

    data_dir: Path = Path(".opsdesk")
    """Where the embedded Temporal server and the default SQLite database keep their files."""

    database_url: str | None = None
    """SQLAlchemy async URL; defaults to a SQLite file in ``data_dir``.
    PostgreSQL: ``postgresql+asyncpg://user:pass@host/db``."""

    host: str = "127.0.0.1"
    port: Port = 8000
    """API and dashboard port."""

    temporal_port: Port = 7233
    """gRPC port of the embedded dev server (ignored when a Temporal address is configured)."""

    ui_port: Port = 8233
    """Web UI port of the embedded dev server."""

    dev_retention: timedelta = timedelta(days=30)
    """How long the embedded dev server keeps finished workflows (it defaults to a day)."""

    temporal_ui_url: str | None = None
    """Base URL of the Temporal web UI, for links from the dashboard. Defaults to the
    embedded server's UI."""

    public_url: str | None = None
    """How people reach the dashboard, for links in emails. Defaults to the dashboard URL."""

    allowed_hosts: list[str] = []
    """Host names the API answers to (a leading ``*.`` allows subdomains; ``*`` any host).
    Always allowed besides: loopback, ``OPSDESK_HOST`` and the public URL's host. Health
    probes (``/healthz``, ``/readyz``) answer any host. JSON: ``["desk.example.com"]``."""

    log_level: str = "info"
    log_format: Literal["console", "json"] = "console"
    """``json``: one JSON object a line, with the workflow, run and order or request id."""

    worker_metrics_address: str | None = None
    """``host:port`` where a worker serves the Temporal SDK's metrics for Prometheus
    (``/metrics``); unset: none. ``opsdesk dev`` picks a free port and prints it."""

    orders_task_queue: str = "orders"
    maintenance_task_queue: str = "maintenance"

    worker_versioning: bool = True
    """Workers join a Temporal Worker Deployment (``deployment_name``) as the version
    ``build_id``: an order stays on the build that started it, a repair request moves to
    the current build (docs/deployment.md, "Rolling out workflow changes"). Off: the
    workers are unversioned, for a Temporal server without Worker Deployments (before
    1.28)."""
    deployment_name: Annotated[str, Field(pattern=DEPLOYMENT_NAME_PATTERN)] = "opsdesk"
    """The Worker Deployment every build of the worker belongs to."""
    build_id: Annotated[str, Field(pattern=BUILD_ID_PATTERN)] = Field(
        default_factory=package_version
    )
    """This build's version in the deployment: the image sets it (``OPSDESK_BUILD_ID``, the
    commit it was built from); unset, the package's version. Two builds with different
    workflow code must never share one."""

    @field_validator("build_id", mode="before")
    @classmethod
    def _unset_build_id(cls, value: object) -> object:
        # An image built without a build id has the variable set to nothing.
        return package_version() if value == "" else value

    # -- API -------------------------------------------------------------------------------
    webhook_secret: SecretStr | None = None
    """Signs the shop's order webhook (``POST /api/webhooks/orders``, HMAC-SHA256 over a
    timestamp and the body). Unset: the webhook answers 503."""
    webhook_secret_previous: SecretStr | None = None
    """During a rotation, the secret being retired: accepted beside the new one."""
    webhook_tolerance: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(minutes=5)
    """How far a webhook's signed timestamp may be from our clock."""
    public_rate_limit: str = "60/minute"
    """Requests per client address to the pages anyone may open (the tenant's form, the
    pages behind links), in the ``limits`` notation: ``60/minute``, ``1000/hour``."""
    webhook_rate_limit: str = "600/minute"
    """Requests per client address to webhooks and health probes."""
    sign_in_rate_limit: str = "5/minute"
    """Password sign-in attempts per account name (a guess at one person's password)."""
    sign_in_address_rate_limit: str = "20/minute"
    """Password sign-in attempts per client address (guesses spread over many names)."""
    trusted_proxies: list[str] = []
    """Addresses or networks (``10.0.0.0/8``) of the proxies in front of the API whose
    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed; from anyone else they are
    ignored, so a client cannot pick the address its rate limits count against. Unset:
    none (the peer's address counts). JSON: ``["10.0.0.0/8"]``."""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    action_wait: timedelta = timedelta(seconds=10)
    """How long an advance or cancel waits for the order to settle before answering 202."""
    metrics_ttl: Annotated[float, Field(ge=0)] = 2.0
    """Seconds between background recounts of the dashboards' numbers while a dashboard
    reads them (``0``: count at every request). A recount is one visibility count per
    status (13 for orders, 21 for maintenance), and visibility is rate limited per
    namespace: size the interval to the namespace's limit and the API replicas."""
    events_interval: Annotated[float, Field(gt=0)] = 1.0
    """Seconds between the change feed's visibility polls (only while someone listens)."""

    # -- order policy: deadlines (ISO 8601 durations or seconds) and risk thresholds -------
    review_timeout: timedelta = timedelta(hours=48)
    stock_timeout: timedelta = timedelta(hours=72)
    shipment_escalation: timedelta = timedelta(days=7)
    risk_review_from: Score = 40
    """Risk scores from here up wait for a person (REVIEW)."""
    risk_reject_from: Score = 80
    """Risk scores from here up are rejected outright (REJECTED)."""

    # -- maintenance policy: each waiting stage's deadline (ISO 8601 durations or seconds) --
    owner_approval_deadline_urgent: timedelta = timedelta(hours=24)
    owner_approval_deadline_routine: timedelta = timedelta(hours=72)
    """How long the owner has to approve a repair (emergencies skip the question)."""
    quote_deadline_emergency: timedelta = timedelta(hours=2)
    quote_deadline_urgent: timedelta = timedelta(hours=24)
    quote_deadline_routine: timedelta = timedelta(hours=72)
    """How long a vendor has to quote before the next vendor of the trade is asked."""
    estimate_approval_deadline: timedelta = timedelta(hours=72)
    availability_deadline: timedelta = timedelta(hours=72)
    """How long the tenant has to give the times they are at home."""
    slot_deadline: timedelta = timedelta(hours=48)
    """How long the vendor has to book a visit inside those times."""
    work_grace: timedelta = timedelta(hours=48)
    """How long after the booked visit ends the vendor has to mark the work done."""
    completion_autoconfirm: timedelta = timedelta(hours=24)
    """After this the repair counts as confirmed without the tenant's answer."""
    invoice_deadline: timedelta = timedelta(days=14)
    invoice_approval_deadline: timedelta = timedelta(days=7)
    report_check_deadline: timedelta = timedelta(hours=48)
    report_check_deadline_emergency: timedelta = timedelta(hours=4)
    """How long the unit's tenant on file (or ops) has to confirm a web-form report made by
    someone else before the request expires; ops hear of an emergency at once."""

    # -- after the job and requests that age (docs/maintenance.md, "After the job") ----------
    vendor_order: Literal["rank", "scorecard"] = "rank"
    """Which vendor of a trade is asked first: ``rank`` (the directory's rank, then id) or
    ``scorecard`` (the best scorecard first, then rank; ``maintenance/scorecards.py``)."""
    aging_thresholds: Annotated[list[Annotated[int, Field(gt=0)]], Field(min_length=1)] = [
        3,
        7,
        14,
    ]
    """Days open after which ops are emailed about a request, once per threshold."""
    aging_every: Annotated[timedelta, Field(ge=timedelta(minutes=1))] = timedelta(hours=1)
    """How often the aging schedule looks for requests that crossed a threshold."""

    payload_keys: SecretStr | None = None
    """Encrypt every Temporal payload (AES-256-GCM): ``id:base64key`` pairs separated by
    commas, newest first; new payloads use the first, the others still decrypt. Without
    it, a key is generated once into ``data_dir``."""

    # -- sign-in (docs/security.md) ---------------------------------------------------------
    session_secret: SecretStr | None = None
    """Signs session cookies (at least 32 characters). Without it, a key is generated once
    into ``data_dir``; set it when API replicas run apart. Changing it signs everyone out."""
    session_idle: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(hours=2)
    """A session ends after this long without a request..."""
    session_lifetime: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(hours=12)
    """...and this long after sign-in, however busy."""
    credentials_cache: Annotated[float, Field(ge=0)] = 5.0
    """Seconds an API process trusts a session or token it has looked up before it asks the
    database again: a revocation made elsewhere (the CLI, another replica) takes this long."""
    admin_second_factor: Literal["offered", "required"] = "offered"
    """``offered``: an admin may turn on a second factor (an authenticator app) on their
    account page. ``required``: an admin who signs in with a password and has none acts
    with an operator's rights until they turn one on. People signing in through OpenID
    Connect use their provider's own second factor instead."""
    api_token: SecretStr | None = None
    """For commands that call the API as a client (``opsdesk load``): the API token they
    send (``opsdesk tokens create``)."""
    oidc_issuer: str | None = None
    """Sign in through an OpenID Connect provider (its issuer URL, which serves
    ``/.well-known/openid-configuration``), beside passwords."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_role_claim: str = "opsdesk_role"
    """The ID token's claim that carries a role name, or a list of group names."""
    oidc_roles: dict[str, Literal["viewer", "operator", "admin"]] = Field(default_factory=dict)
    """Maps the claim's values to roles (JSON: ``{"ops-admins": "admin"}``); a value that is
    itself a role name maps to that role. A person with no role is refused."""
    oidc_label: str = "your organisation's sign-in"

    link_secret: SecretStr | None = None
    """Signs the links in emails (HS256; at least 32 characters). Without it, a key is
    generated once into ``data_dir`` (fine for one machine; set it when the worker and API
    run apart)."""

    # -- files people upload: photos, videos, certificates, invoices --------------------
    blob_store: Literal["folder", "s3"] = "folder"
    """Where uploaded files are kept: ``folder`` (``data_dir/files``, one machine) or ``s3``
    (any S3-compatible service; set the bucket, and the endpoint for one that is not AWS)."""
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    """E.g. ``https://s3.eu-central-1.amazonaws.com`` or a MinIO/Ceph address; empty: AWS."""
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    """Both empty: boto3's usual chain (environment, shared files, an instance role)."""
    file_link_lifetime: timedelta = timedelta(minutes=15)
    """How long a link to a file on a page works: long enough to look, too short to share."""
    max_photo_bytes: Annotated[int, Field(ge=1024)] = 10_000_000
    """The largest photo a tenant may send (JPEG, PNG or HEIC)."""
    max_video_bytes: Annotated[int, Field(ge=1024)] = 50_000_000
    """The largest video a tenant may send (MP4)."""
    max_files_per_report: Annotated[int, Field(ge=1, le=50)] = 6
    """How many photos and videos one report, or one answer, may carry."""
    max_upload_body_bytes: Annotated[int, Field(ge=1024)] = 120_000_000
    """The body-size limit of the routes that take files (the report form, the tenant's
    links, the API's file upload, invoices and vendors' certificates) in place of
    ``max_body_bytes``: room for the files and the form around them."""

    office_hours_start: time = time(9, 0)
    office_hours_end: time = time(18, 0)
    """Office hours, Monday to Friday in each property's time zone. An owner whose call
    preference is ``call_after_hours`` is only phoned, not emailed, outside them."""

    # -- Twilio voice: owners are phoned for approvals (without it: the dev phone) --------
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    """Authenticates our calls to Twilio and signs Twilio's requests to us
    (``X-Twilio-Signature``). Without it, a key generated once into ``data_dir`` signs the
    dev phone's requests."""
    twilio_caller: str | None = None
    """The Twilio number calls come from, in E.164 form (``+14155550100``)."""
    twilio_api_url: str | None = None
    """Twilio's REST API base URL (default ``https://api.twilio.com``): for a proxy, or a
    local stand-in in tests."""
    phone_conversation: Literal["auto", "on", "off"] = "auto"
    """How an owner's call talks (docs/maintenance.md, "The call as a conversation"):
    ``auto``: a conversation through Twilio's ConversationRelay when Twilio places calls
    and a model is the AI provider, else the key-press call (``<Gather>``, which the dev
    phone plays); ``on``: always a conversation, spoken by offline rules without a model;
    ``off``: always key presses."""
    phone_silence: Annotated[float, Field(gt=0)] = 8.0
    """Seconds of silence in a conversation before the call asks whether anyone is there;
    the third silence ends the call politely."""

    # -- property-management intake ----------------------------------------------------
    pms_url: str | None = None
    """The property-management system's requests endpoint, which the poller asks for new
    repair requests (``GET <url>?after=<cursor>&limit=<n>``; docs/maintenance.md has the
    format). Unset: no poller runs. ``opsdesk dev`` points it at its demo feed."""
    pms_token: SecretStr | None = None
    """Bearer token the poller sends to that endpoint; the demo feed asks for it when set."""
    pms_source: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")] = "pms"
    """The system's name: it names the poller (``pms-poller-<source>``) and begins the id of
    every request it brings (``<source>-<its id>``), so keep it once requests have come."""
    pms_poll_interval: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(seconds=10)
    """How often the poller asks while there is nothing new (an ISO 8601 duration: PT10S).
    A running poller takes a new value after its next batch."""
    pms_batch_size: Annotated[int, Field(ge=1, le=500)] = 50
    """At most this many records per poll: a backlog arrives in bounded batches."""
    demo_pms: bool = False
    """Serve a demo property-management feed at ``/dev/pms/requests`` from the API, fed by
    ``opsdesk maintenance demo-request`` (``opsdesk dev`` turns it on). Off: those routes
    answer 404."""

    # -- worker ------------------------------------------------------------------------
    worker_cache: Annotated[int, Field(ge=0)] = 1000
    """Workflows a worker keeps in memory between tasks (the sticky cache). An open order
    outside it costs no memory; touching it again replays its history."""

    # -- AI: Anthropic or OpenAI when a key is set, offline rules otherwise ----------------
    ai_provider: Literal["auto", "anthropic", "openai", "rules"] = "auto"
    """``auto`` uses Anthropic if ANTHROPIC_API_KEY is set, else OpenAI if OPENAI_API_KEY
    is, else the offline rules."""
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPSDESK_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
    )
    anthropic_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPSDESK_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL"),
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPSDESK_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPSDESK_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    ai_fast_model: str | None = None
    """Scores risk and triages requests (default claude-haiku-4-5 / gpt-5-mini)."""
    ai_strong_model: str | None = None
    """Writes to customers (default claude-sonnet-4-6 / gpt-5)."""
    ai_timeout: Annotated[float, Field(gt=0)] = 30.0
    ai_reads_images: bool = False
    """The configured triage model reads images: the tenant's photos (never videos) go to
    it with the description. Off: triage reads the words only."""
    ai_prices: dict[str, tuple[NonNegativeFloat, NonNegativeFloat]] = {}
    """USD per million input and output tokens by model, as JSON
    (``{"my-model": [0.5, 2.0]}``), over the list prices built in for the default models:
    what the dashboard, ``/metrics`` and the daily report estimate AI cost from."""

    emergency_criteria: Path | None = None
    """A TOML file of written emergency criteria replacing the shipped ones
    (``opsdesk/ai/emergency_criteria.toml``, whose comments explain the format): what the
    triage counts as an emergency, in which words and languages, the trade each needs, and
    the number a tenant reporting gas, smoke or carbon monoxide is told to call first. A
    file that cannot be used stops the desk from starting, saying why."""

    # -- who is told what -----------------------------------------------------------------
    ops_email: Email = "ops@opsdesk.local"
    support_email: Email = "support@opsdesk.local"
    mail_from: str = "Ops Desk <orders@opsdesk.local>"
    """Who the order desk's mail (and the daily report) comes from."""
    maintenance_mail_from: str = "Ops Desk repairs <repairs@opsdesk.local>"
    """Who repair mail comes from: owners, tenants and vendors reply to the repairs desk,
    not to the shop."""

    # -- vendors' compliance documents -------------------------------------------------------
    vendor_documents_required: dict[str, list[VendorDocumentKind]] = {}
    """The documents a vendor must have on file to be offered a job of a trade, as JSON
    (``{"electrician": ["licence"], "*": ["general_liability"]}``; ``*`` is every trade).
    Default: none, so a directory without documents works as before and only a document
    on file that has expired keeps a vendor from a job."""

    # -- the daily report ------------------------------------------------------------------
    business_time_zone: str = "UTC"
    """The business's time zone (an IANA name, ``Europe/London``): when the daily report
    runs and the times it shows."""
    report_at: time = time(9, 0)
    """When the daily report runs on weekdays, in the business's time zone."""

    # -- SMTP: without a host, email stays in the outbox (`opsdesk dev`: the dev mailbox) ---
    smtp_host: str | None = None
    smtp_port: Port = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS when the server offers it."""
    smtp_tls: bool = False
    """Connect with implicit TLS (usually port 465)."""
    smtp_timeout: float = 20.0
    dev_mailbox_port: Port | None = None
    """Port of ``opsdesk dev``'s SMTP sink on 127.0.0.1 (default: a free one). With no SMTP
    host set, ``opsdesk dev`` runs the sink and passes the port it took to its worker and
    API: the worker delivers every email to the sink (no STARTTLS, no login), which keeps
    them in ``data_dir/mailbox`` (a Maildir), the outbox marks them delivered to the dev
    mailbox, and the dashboard shows them on its Mailbox page. Ignored when ``smtp_host``
    is set: mail then goes out as usual and no sink runs."""

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Settings:
        if self.risk_review_from > self.risk_reject_from:
            raise ValueError(
                "risk_review_from must not exceed risk_reject_from "
                f"({self.risk_review_from} > {self.risk_reject_from})"
            )
        return self

    @model_validator(mode="after")
    def _known_time_zone(self) -> Settings:
        try:
            ZoneInfo(self.business_time_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # A region's name (America) is a directory of zones: OSError.
            raise ValueError(
                f"OPSDESK_BUSINESS_TIME_ZONE={self.business_time_zone!r} is not a time zone "
                "(use an IANA name such as Europe/London or America/New_York)"
            ) from None
        if self.report_at.tzinfo is not None:
            raise ValueError(
                "OPSDESK_REPORT_AT is a time of day without an offset (09:00): the zone is "
                "OPSDESK_BUSINESS_TIME_ZONE"
            )
        return self

    @model_validator(mode="after")
    def _link_secret_long_enough(self) -> Settings:
        # HS256 wants a key at least as long as its hash: 32 bytes.
        if self.link_secret is not None and len(self.link_secret.get_secret_value()) < 32:
            raise ValueError("OPSDESK_LINK_SECRET must be at least 32 characters long")
        return self

    @model_validator(mode="after")
    def _shared_keys_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        shared = {
            "OPSDESK_LINK_SECRET": self.link_secret,
            "OPSDESK_SESSION_SECRET": self.session_secret,
            "OPSDESK_PAYLOAD_KEYS": self.payload_keys,
        }
        missing = [name for name, value in shared.items() if value is None]
        if missing:
            raise ValueError(
                f"OPSDESK_ENVIRONMENT=production needs {', '.join(missing)}: without them each "
                "host would make keys of its own, and a link, a session or a payload made on "
                "one would be refused on another"
            )
        return self

    @model_validator(mode="after")
    def _build_id_in_production(self) -> Settings:
        # An image built without a build id falls back to the package's version: two such
        # images with different workflow code would be one version, and an order pinned to
        # it would be replayed by the other's code.
        if (
            self.environment == "production"
            and self.worker_versioning
            and self.build_id == package_version()
        ):
            raise ValueError(
                "OPSDESK_ENVIRONMENT=production needs OPSDESK_BUILD_ID, set to what tells this "
                "build's workflow code apart (the commit it was built from: the image's "
                "build argument): left to the package's version, two builds would share one "
                "Worker Deployment version"
            )
        return self

    @model_validator(mode="after")
    def _s3_has_a_bucket(self) -> Settings:
        if self.blob_store == "s3" and not self.s3_bucket:
            raise ValueError(
                "OPSDESK_BLOB_STORE=s3 needs OPSDESK_S3_BUCKET: the bucket to keep files in"
            )
        return self

    @model_validator(mode="after")
    def _rate_limits_readable(self) -> Settings:
        for name in (
            "public_rate_limit",
            "webhook_rate_limit",
            "sign_in_rate_limit",
            "sign_in_address_rate_limit",
        ):
            try:
                parse_limit(getattr(self, name))
            except ValueError:
                raise ValueError(
                    f"OPSDESK_{name.upper()} must read like 60/minute or 1000/hour"
                ) from None
        return self

    @model_validator(mode="after")
    def _trusted_proxies_readable(self) -> Settings:
        for proxy in self.trusted_proxies:
            try:
                ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"OPSDESK_TRUSTED_PROXIES: {proxy!r} is not an address or a network "
                    "such as 10.0.0.0/8"
                ) from None
        return self

    @model_validator(mode="after")
    def _sign_in_settings(self) -> Settings:
        if self.session_secret is not None and len(self.session_secret.get_secret_value()) < 32:
            raise ValueError("OPSDESK_SESSION_SECRET must be at least 32 characters long")
        if self.session_idle > self.session_lifetime:
            raise ValueError(
                "OPSDESK_SESSION_IDLE must not be longer than OPSDESK_SESSION_LIFETIME"
            )
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError(
                "OpenID Connect needs OPSDESK_OIDC_CLIENT_ID and OPSDESK_OIDC_CLIENT_SECRET "
                "beside OPSDESK_OIDC_ISSUER"
            )
        return self

    @model_validator(mode="after")
    def _payload_keys_readable(self) -> Settings:
        if self.payload_keys is not None:
            parse_keys(self.payload_keys.get_secret_value())
        return self

    @model_validator(mode="after")
    def _twilio_all_or_nothing(self) -> Settings:
        given = {
            "OPSDESK_TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "OPSDESK_TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "OPSDESK_TWILIO_CALLER": self.twilio_caller,
        }
        missing = [name for name, value in given.items() if not value]
        if 0 < len(missing) < len(given):
            raise ValueError(
                "Twilio needs its account SID, auth token and caller number together; "
                f"missing {', '.join(missing)}"
            )
        if not missing and not self.public_url:
            raise ValueError(
                "with Twilio, set OPSDESK_PUBLIC_URL to the address Twilio reaches us at: "
                "its requests are signed for it"
            )
        if self.office_hours_start >= self.office_hours_end:
            raise ValueError("OPSDESK_OFFICE_HOURS_START must be before OPSDESK_OFFICE_HOURS_END")
        return self

    @property
    def resolved_allowed_hosts(self) -> list[str]:
        public = urlsplit(self.resolved_public_url).hostname or ""
        own = ["127.0.0.1", "localhost", "::1", self.host, public]
        return list(dict.fromkeys([*own, *self.allowed_hosts]))

    @property
    def webhook_secrets(self) -> list[SecretStr]:
        """The webhook secrets accepted now: the current one first."""
        return [s for s in (self.webhook_secret, self.webhook_secret_previous) if s]

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid)

    @model_validator(mode="after")
    def _chosen_provider_has_a_key(self) -> Settings:
        keys = {"anthropic": self.anthropic_api_key, "openai": self.openai_api_key}
        if self.ai_provider in keys and not keys[self.ai_provider]:
            raise ValueError(
                f"OPSDESK_AI_PROVIDER={self.ai_provider} needs "
                f"{self.ai_provider.upper()}_API_KEY (or OPSDESK_AI_PROVIDER=rules to run offline)"
            )
        return self

    @property
    def resolved_ai_provider(self) -> str:
        """``anthropic``, ``openai`` or ``rules``: ``auto`` picks the first with a key."""
        if self.ai_provider != "auto":
            return self.ai_provider
        if self.anthropic_api_key:
            return "anthropic"
        if self.openai_api_key:
            return "openai"
        return "rules"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'opsdesk.db'}"

    @property
    def resolved_temporal_ui_url(self) -> str:
        return self.temporal_ui_url or f"http://{self.host}:{self.ui_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def resolved_public_url(self) -> str:
        return self.public_url or self.dashboard_url
