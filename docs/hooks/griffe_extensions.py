"""Griffe extensions for the API reference (mkdocstrings' Python handler reads the code with griffe).

* ``LazyExports``: ``spyx_data`` serves its encoders (``rate_code``, ``RateCode``, ...) through a
  module ``__getattr__``, so that ``import spyx_data`` does not load them; griffe reads the
  package without running it and would not see them. This extension asks the imported package
  where each name of ``spyx_data.__all__`` lives and adds the ones griffe lacks as aliases of
  their definitions, so that ``::: spyx_data.rate_code`` documents what ``spyx_data.rate_code`` is.
* ``InlineMarkup``: the docstrings use reStructuredText's inline markup (``:func:`name```,
  double backquotes), which Markdown would print as it is; this extension writes it as Markdown
  code (:func:`rst_to_markdown`), which the generated pages use too.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:\w+:)?\w+:`(~?)([^`]+)`")


def rst_to_markdown(text: str) -> str:
    """A docstring's inline markup as Markdown: ``code`` and :role:`name` become `code`, and
    :role:`~a.b.name` becomes `name` (Sphinx's short form)."""
    text = _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


class LazyExports(griffe.Extension):
    """Adds every name of a package's ``__all__`` that its static analysis lacks, as an alias."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.path != "spyx_data":
            return
        module = importlib.import_module(pkg.path)
        for name in module.__all__:
            if name in pkg.members:
                continue
            value = getattr(module, name)  # defined in a module of the package, which griffe has read
            target = f"{value.__module__}.{getattr(value, '__qualname__', name)}"  # a short name names its class
            pkg.set_member(name, griffe.Alias(name, target, parent=pkg))


class InlineMarkup(griffe.Extension):
    """Rewrites every docstring's reStructuredText inline markup as Markdown."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
