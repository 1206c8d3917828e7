"""What a connector declares about itself, as data: directions, domains and capabilities."""

from __future__ import annotations

from dataclasses import dataclass, field

from logisync.domain.kinds import Domain


@dataclass(frozen=True)
class Capabilities:
    """What the dispatcher, the dashboard, the docs and the contract tests may rely on."""

    batching: bool = False  # several deliveries in one call
    max_batch: int = 1  # the most deliveries one call may carry
    compare_and_set: bool = False  # a call can carry the value the hub last delivered
    signing: tuple[str, ...] = ()  # signature schemes it can sign (outbound) or verify (inbound)


@dataclass(frozen=True)
class ConnectorSpec:
    """One connector's metadata; a connector module exposes it as `SPEC`."""

    name: str
    summary: str
    directions: frozenset[str]  # "in" (changes to the hub), "out" (deliveries from it)
    domains: frozenset[Domain] = field(default_factory=lambda: frozenset(Domain))
    capabilities: Capabilities = field(default_factory=Capabilities)
