"""A Griffe extension for the API pages: mb3d's numpy-style docstrings use Sphinx roles
(``:func:`load```, ``:class:`~mb3d.case.Case```) that Markdown would show as they are; they become
code spans (``load``, ``Case``). A line ending in ``::`` (a reST literal block follows) ends in ``:``."""
from __future__ import annotations

import re
from typing import Any

import griffe

#: :role:`target`, :role:`~a.b.target`, :role:`text <target>`
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|obj|exc|const|ref|doc):`(~?)([^`<]*?)\s*(?:<([^>`]+)>)?`")


def _code(m: re.Match) -> str:
    tilde, text, _target = m.groups()
    text = text.strip()
    if tilde:
        text = text.rsplit(".", 1)[-1]
    return f"`{text}`"


def clean(text: str) -> str:
    """The docstring with its Sphinx roles as code spans and ``::`` line ends as ``:``."""
    text = ROLE.sub(_code, text)
    return re.sub(r"(?m)(\S)::$", r"\1:", text).replace("\n::\n", "\n")


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = clean(obj.docstring.value)
