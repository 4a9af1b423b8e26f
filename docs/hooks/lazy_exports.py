"""A griffe extension for the API reference: the names ``spyx_data`` exports lazily.

``spyx_data`` serves its encoders (``rate_code``, ``RateCode``, ...) through a module
``__getattr__``, so that ``import spyx_data`` does not load them; griffe reads the package
without running it and would not see them. This extension asks the imported package where each
name of ``spyx_data.__all__`` lives and adds the ones griffe lacks as aliases of their
definitions, so that ``::: spyx_data.rate_code`` documents what ``spyx_data.rate_code`` is.
"""

from __future__ import annotations

import importlib
from typing import Any

import griffe


class LazyExports(griffe.Extension):
    """Adds every name of a package's ``__all__`` that its static analysis lacks, as an alias."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.path != "spyx_data":
            return
        module = importlib.import_module(pkg.path)
        for name in module.__all__:
            if name in pkg.members:
                continue
            defined_in = getattr(module, name).__module__  # a module of the package, which griffe has read
            pkg.set_member(name, griffe.Alias(name, f"{defined_in}.{name}", parent=pkg))
