"""The dashboard: what the receiver knows, shown to the support desk behind a login, as JSON to tokens and as
Prometheus metrics. Everything here reads the receiver's tables; the only writes are the quarantine's retry and
drop, through tkalert.receiver.quarantine, by support staff.

  options.py   the [receiver] keys of the dashboard (no Django: read with the rest of receiver.conf)
  settings.py  the Django settings it adds (apps, middleware, templates, cookies, the session secret)
  roles.py     support staff and read-only users (Django groups), the check before any change
  fleet.py     the overview's query: one page of systems with their 30-day heartbeat strips, no N+1
  tokens.py    API tokens (shown once, kept as SHA-256); admin.py the admin site's contracts, systems, tokens
  pages.py     the HTML pages; api.py the JSON API; metrics.py /metrics; urls.py; wsgi.py (any WSGI server)
"""
