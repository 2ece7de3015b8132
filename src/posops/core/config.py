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
    login_rate_limit: int = Field(5, description="failed logins allowed per username and address per window")
    login_rate_window_s: int = Field(300, description="window of the login rate limit, in seconds")
    var_dir: Path = Field(Path("var"), description="where uploads and the embedded database live")
    dormancy_days: int = Field(90, ge=1,
                               description="days without a transaction before a terminal is suspended as dormant")
    telemetry_retention_days: int = Field(30, ge=1, description="days of heartbeat history the worker keeps")
    telemetry_offline_after_s: int = Field(300, ge=1, description="seconds without a heartbeat before a terminal "
                                                                  "shows as offline")
    diagnosis_idle_hours: int = Field(24, ge=1, description="hours without an answer after which the worker closes "
                                                            "an open diagnosis as abandoned")
    worker_id: str | None = Field(None, description="MQTT client id of this worker, unique and stable per worker "
                                                    "(default posops-worker-<host>)")

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
