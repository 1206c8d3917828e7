"""The demo's operations desk: the hub's alert webhooks reach it signed, its alerts section loads."""

from __future__ import annotations

import asyncio

import httpx

from logisync.config.alerts import AlertsConfig, WebhookChannel
from logisync.monitor.alert_channels import WebhookSender
from logisync.monitor.alert_state import message_of
from logisync.sim.ops import OpsDesk
from logisync.store.alerts import NotificationRow


def test_the_desk_takes_signed_alerts_and_refuses_others():
    seen: list[dict] = []
    desk = OpsDesk(seen.append)

    async def scenario() -> tuple[int, object]:
        await desk.start()
        try:
            section = AlertsConfig.model_validate(desk.alerts_section(60.0))
            hook = section.channels["ops"].webhook
            assert isinstance(hook, WebhookChannel)
            sender = WebhookSender("ops", hook, desk.secret)
            fields = {"rule": "target-down", "subject": "market", "severity": "critical", "summary": "down"}
            note = NotificationRow(
                1, 4, "ops", "firing", "pending", message_of("firing", fields, 0), 1, 0, 0, 0, None, None
            )
            error = await sender.send(note)
            await sender.close()
            async with httpx.AsyncClient() as client:
                unsigned = await client.post(desk.url, json={"type": "alert.firing"})
            return unsigned.status_code, error
        finally:
            await desk.stop()

    status, error = asyncio.run(scenario())
    assert error is None and status == 401
    [alert] = seen
    assert alert["type"] == "alert.firing" and alert["data"]["subject"] == "market"
    section = AlertsConfig.model_validate(desk.alerts_section(60.0))
    assert [r.name for r in section.rules] == ["target-down", "route-late", "inbox-piling-up"]
    assert section.rules[0].hold_s == 5.0  # five sim minutes at 60x
