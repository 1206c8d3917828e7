"""A simulated carrier: follows tracking numbers and sends EasyPost-style tracker webhooks.

Each followed number moves pre_transit -> in_transit -> out_for_delivery -> delivered over sim
time (`leg` sim seconds apart, some legs `late_rate` of the time `late_by` longer). Every webhook
carries the number's whole history so far (as EasyPost resends it), in EasyPost's native codes,
which the hub's `easypost` code table maps. The system's faults duplicate, reorder and drop them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .system import SimSystem

PATH = ("pre_transit", "in_transit", "out_for_delivery", "delivered")


class SimCarrier(SimSystem):
    kind = "carrier"

    def __init__(
        self,
        name: str = "carrier",
        *,
        leg: float = 3600.0,
        late_rate: float = 0.0,
        late_by: float = 7200.0,
        **kw: Any,
    ) -> None:
        super().__init__(name, **kw)
        self.leg, self.late_rate, self.late_by = leg, late_rate, late_by
        self.tracking: dict[str, dict[str, Any]] = {}  # number -> {shipment_number, events}

    def follow(self, tracking_number: str, shipment_key: str) -> None:
        """Start moving `tracking_number` (idempotent: a number already followed is left alone)."""
        if tracking_number in self.tracking:
            return
        self.tracking[tracking_number] = {"shipment_number": shipment_key, "events": []}
        self.spawn(self._move(tracking_number))

    def view(self, domain: str) -> dict[str, dict[str, Any]]:
        if domain != "tracking":
            return {}
        return {
            number: {
                "status": t["events"][-1]["status"] if t["events"] else None,
                "shipment_number": t["shipment_number"],
            }
            for number, t in self.tracking.items()
        }

    async def _move(self, number: str) -> None:
        for code in PATH:
            delay = self.leg + (self.late_by if self.random.random() < self.late_rate else 0.0)
            await self.clock.sleep(delay)
            await self.scan(number, code, self.clock.now())

    async def scan(self, number: str, code: str, at: datetime) -> None:
        """Record one event for `number` and send the tracker's whole history."""
        tracked = self.tracking[number]
        tracked["events"].append(
            {"status": code, "datetime": at.isoformat(), "message": code.replace("_", " ")}
        )
        await self.send("tracking", number, self._tracker(number), topic="tracker.updated")

    def _tracker(self, number: str) -> dict[str, Any]:
        tracked = self.tracking[number]
        return {
            "object": "Event",
            "description": "tracker.updated",
            "result": {
                "object": "Tracker",
                "tracking_code": number,
                "carrier": "SIMPOST",
                "status": tracked["events"][-1]["status"],
                "shipment_id": tracked["shipment_number"],
                "tracking_details": [dict(e) for e in tracked["events"]],
            },
        }

    def spoil(self, payload: Any) -> Any:
        result = dict(payload["result"])
        result["tracking_details"] = [{"status": "teleported", "datetime": "yesterday-ish"}]
        return {**payload, "result": result}
