"""The X12 engine: tokenizer, envelopes, 997 acknowledgments and the envelope writer (pure: no I/O)."""
