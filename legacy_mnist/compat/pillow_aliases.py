"""Pillow's removed filter names (ANTIALIAS, LINEAR, CUBIC) back on `PIL.Image`, for the old tutorials.

Not run directly; `import legacy_mnist.v2` calls `restore()`. Pillow 10 removed these aliases of LANCZOS,
BILINEAR and BICUBIC (their values since Pillow 2.7, its release notes say), so the v2 tutorial's
`im.resize((28, 28), Image.ANTIALIAS)` stops with an AttributeError on Pillow 13. The porting promise is
about the user's script, whoever removed the name: the first use of each name warns once with the
modern spelling. Nothing is changed where Pillow still has the names.
"""
from __future__ import annotations

import threading
import warnings

ALIASES = {"ANTIALIAS": "LANCZOS", "LINEAR": "BILINEAR", "CUBIC": "BICUBIC"}
_MARK = "_legacy_mnist_aliases"  # on the installed __getattr__: install once, whoever installs it


class PillowAliasWarning(FutureWarning):
    """A Pillow name removed in Pillow 10 was used (shown once per name; a FutureWarning, so shown by default)."""


def restore() -> None:
    """Install a module `__getattr__` on PIL.Image that answers the removed names (once per process)."""
    from PIL import Image

    previous = Image.__dict__.get("__getattr__")
    if getattr(previous, _MARK, False) or all(name in Image.__dict__ for name in ALIASES):
        return
    warned: set[str] = set()
    lock = threading.Lock()

    def __getattr__(name: str):
        if name in ALIASES:
            modern = ALIASES[name]
            with lock:
                first, _ = name not in warned, warned.add(name)
            if first:
                warnings.warn(f"PIL.Image.{name}: Pillow 10 removed it; write Image.{modern} "
                              f"(Image.Resampling.{modern}), the same filter", PillowAliasWarning, stacklevel=2)
            return getattr(Image, modern)
        if previous is not None:
            return previous(name)
        raise AttributeError(f"module 'PIL.Image' has no attribute {name!r}")

    setattr(__getattr__, _MARK, True)
    Image.__getattr__ = __getattr__
