"""The package's version, written once: setuptools reads it for the
distribution's metadata (``[tool.setuptools.dynamic]`` in pyproject.toml),
``dlmsmesh.__version__`` and ``dlmsmesh --version`` import it."""

__version__ = "0.1.0"
