"""Runtime configuration read from POSOPS_* environment variables by one Settings class."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "posops-development-secret-change-me"
DEFAULT_DB_URL = "sqlite:///var/posops.db"


class Settings(BaseSettings):
    """Every setting posops reads; each field is the environment variable POSOPS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="POSOPS_", extra="ignore")

    env: str = Field("development", description="development, test or production")
    database_url: str = Field(DEFAULT_DB_URL, description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://…")
    mqtt_url: str | None = Field(None, description="MQTT broker for telemetry, e.g. mqtt://127.0.0.1:1883")
    secret_key: str = Field(DEV_SECRET, description="signs session cookies and CSRF tokens")
    admin_token: str | None = Field(None, description="bootstrap bearer token with the admin role")
    lang: str = Field("zh-CN", description="default console language: zh-CN or en")
    timezone: str = Field("Asia/Shanghai", description="IANA time zone the console shows times in (stored in UTC)")
    login_pair_failures: int = Field(5, ge=1, description="failed sign-ins of one username from one address before "
                                                          "each further attempt of that pair waits (back-off)")
    login_user_failures: int = Field(10, ge=1, description="failed sign-ins of one username from all addresses "
                                                           "before it waits from every address (back-off)")
    login_address_failures: int = Field(100, ge=1, description="failed sign-ins from one address, whatever the "
                                        "usernames, within login_address_window_s before the address is refused "
                                        "(against password spraying; far above the pair limit, so one person's "
                                        "typos do not lock an office behind one NAT address)")
    login_address_window_s: int = Field(3600, ge=1, description="window of the per-address ceiling, in seconds")
    login_backoff_base_s: int = Field(60, ge=1, description="first wait once a limit is reached, in seconds; each "
                                                            "further failure doubles it")
    login_backoff_max_s: int = Field(3600, ge=1, description="longest back-off wait, in seconds")
    login_failure_memory_s: int = Field(86400, ge=1, description="failed sign-ins older than this many seconds no "
                                                                 "longer count")
    api_token_days: int = Field(90, ge=1, le=3650, description="days a new API token is valid unless its creation "
                                                               "names another lifetime")
    var_dir: Path = Field(Path("var"), description="where uploads and the embedded database live")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="largest request body, in bytes; larger is a 413")
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="largest multipart upload or CSV import "
                                                                        "body, in bytes")
    import_max_rows: int = Field(10_000, ge=1, le=1_000_000, description="most rows one CSV import may carry")
    dormancy_days: int = Field(90, ge=1,
                               description="days without a transaction before a terminal is suspended as dormant")
    telemetry_retention_days: int = Field(30, ge=1, description="days of heartbeat history the worker keeps")
    telemetry_offline_after_s: int = Field(300, ge=1, description="seconds without a heartbeat before a terminal "
                                                                  "shows as offline")
    diagnosis_idle_hours: int = Field(24, ge=1, description="hours without an answer after which the worker closes "
                                                            "an open diagnosis as abandoned")
    worker_id: str | None = Field(None, description="MQTT client id of this worker, unique and stable per worker "
                                                    "(default posops-worker-<host>)")
    second_person_reasons: str | None = Field(
        None, description="suspension reasons whose reactivation needs a second person (maker–checker), as a comma "
                          "list such as arrears,risk_limit,security, replacing the default set of the reactivation "
                          "conditions; empty: none. Unknown reasons are refused at start-up")

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("POSOPS_SECRET_KEY must be set to a private value when POSOPS_ENV=production")
        if self.lang not in ("zh-CN", "en"):
            raise ValueError("POSOPS_LANG must be zh-CN or en")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"POSOPS_TIMEZONE {self.timezone!r} is not an IANA time zone (e.g. Asia/Shanghai)") \
                from None
        return self


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
