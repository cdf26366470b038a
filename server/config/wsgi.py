"""WSGI entry point; gunicorn serves `config.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

from shop.core.timeouts import bound_web_requests  # noqa: E402 (needs the apps loaded)

bound_web_requests()  # a request waits for a lock or a statement only so long
