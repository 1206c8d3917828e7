"""The operations dashboard: server-rendered pages under /ui (see `web.app.dashboard_router`)."""
