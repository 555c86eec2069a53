"""Live updates: events published after commit, fanned out to the browsers (SSE).

`bus.py` holds publish/subscribe: in-memory fan-out within a process, and the database's
channel between processes (`db.notify`). `events.py` makes the events; `service.py` and `api.py` are
the explicit screen pop (`POST /api/v1/screen-pops`). The SSE streams are pages
(`web/live_views.py`), authenticated by the session cookie.
"""
