"""The dashboard as a WSGI application for any server: `gunicorn tkalert.receiver.web.wsgi:application`.

Django is configured from receiver.conf (TKALERT_RECEIVER_CONFIG, else /etc/tkalert-receiver/receiver.conf) on the first
request, so importing this module reads nothing; `serve` runs it under gunicorn on `web_listen`.
"""

from __future__ import annotations

import os
import threading


class Application:
    def __init__(self):
        self._app = None
        self._lock = threading.Lock()

    def load(self):
        with self._lock:
            if self._app is None:
                from django.core.wsgi import get_wsgi_application

                from tkalert.receiver.config import CONFIG_ENV, load_config
                from tkalert.receiver.django_setup import start_django

                start_django(load_config(os.environ.get(CONFIG_ENV)))
                self._app = get_wsgi_application()
        return self._app

    def __call__(self, environ, start_response):
        return (self._app or self.load())(environ, start_response)


application = Application()
