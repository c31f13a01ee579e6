"""skconv's version, in a module of its own so that setuptools reads it without importing numpy
and skconv's modules import it without a cycle."""

__version__ = "0.2.0.dev0"
