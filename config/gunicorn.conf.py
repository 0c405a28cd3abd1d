"""gunicorn settings for `registry serve`. Override any of them with GUNICORN_CMD_ARGS."""

import multiprocessing
import os

bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:5000")
# Two workers per core suits this I/O-bound app (database round trips dominate).
workers = int(os.environ.get("REGISTRY_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 20
# Access log without query strings: no identifier is ever in a URL, and we keep it that way.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s'
errorlog = "-"
preload_app = True
