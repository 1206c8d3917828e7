"""logisync: the data-sync backbone for logistics."""

__version__ = "0.1.0"
