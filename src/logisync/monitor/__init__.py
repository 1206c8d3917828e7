"""Watching the hub: route lag against SLAs (metrics and alerts come with the dashboard)."""
