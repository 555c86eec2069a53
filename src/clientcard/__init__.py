"""clientcard: the customer card of an omnichannel contact center."""

__version__ = "0.1.0"
