"""Gin-configured trainers: the only place that imports gin, absl flags, strategies and file I/O."""

__all__ = []
