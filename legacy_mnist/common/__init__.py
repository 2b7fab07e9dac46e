"""Shared leaves every stage may import: crash-safe writes, reading strangers' files, native output, bounds, optional packages."""
