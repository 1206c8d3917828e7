"""EDI trading partners: receiving their interchanges through the pipeline, answering with 997s,
sending ours and tracking each group until its 997 arrives.

`inbound.receive` is the entry for an X12 file from a partner (the file transports and
`logisync ingest` call it for `.x12`/`.edi` files); `outbound.send_sets` writes and tracks ours;
`acks.check_overdue` runs on a schedule in the hub.
"""
