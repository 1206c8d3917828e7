"""The sync map (`logisync.yaml`): systems, owners, routes, validated with clear errors."""

from .loader import load_syncmap, parse_syncmap
from .model import OwnerRule, RouteConfig, SyncMap, SystemConfig

__all__ = ["OwnerRule", "RouteConfig", "SyncMap", "SystemConfig", "load_syncmap", "parse_syncmap"]
