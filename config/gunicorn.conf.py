"""gunicorn settings for `registry serve`. Override any of them with GUNICORN_CMD_ARGS."""

import multiprocessing
import os
import sys
from typing import Any

from registry.config import ConfigurationError, Settings
from registry.logs import gunicorn_json_logging

_settings = Settings.load()

bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:5000")
# Two workers per core suits this I/O-bound app (database round trips dominate), but only
# with a shared throttle store: without REDIS_URL each worker would count on its own.
_default_workers = multiprocessing.cpu_count() * 2 if _settings.redis_url else 1
workers = int(os.environ.get("REGISTRY_WORKERS", _default_workers))
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 20
# Access log without query strings: no identifier is ever in a URL, and we keep it that way.
# %(h)s is the socket's address, or the client's from X-Forwarded-For when the app trusts
# that many proxies (REGISTRY_PROXY_HOPS). gunicorn itself trusts X-Forwarded-Proto only from
# FORWARDED_ALLOW_IPS (default 127.0.0.1): set that to the proxy's address if it is elsewhere.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s'
errorlog = "-"
if _settings.log_format == "json":
    # One JSON object per line for a SIEM: the app logs each request itself (with its
    # route, user and duration), so gunicorn's text access line would only duplicate it.
    accesslog = None
    logconfig_dict = gunicorn_json_logging(_settings.log_level)
preload_app = True


def on_starting(server: Any) -> None:
    """Check the worker count as finally set (file, environment or command line)."""
    try:
        _settings.check_workers(server.cfg.workers)
    except ConfigurationError as exc:
        print(f"registry serve: {exc}", file=sys.stderr)
        sys.exit(1)
    if server.cfg.workers > 1 and not _settings.redis_url:
        print(
            f"WARNING: {server.cfg.workers} workers without REDIS_URL: every throttle counts "
            "per worker (production refuses this)",
            file=sys.stderr,
        )
