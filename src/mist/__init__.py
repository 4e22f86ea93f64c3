"""mist: mutual information estimation, learned and classical. Results are in nats unless a
`base` is given."""

from mist.errors import MistError, MistWarning

__version__ = "0.1.0"
__all__ = ["MistError", "MistWarning", "__version__"]
