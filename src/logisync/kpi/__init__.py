"""Logistics KPIs computed from the sync journal itself: the change log, records, outbox, exceptions."""
