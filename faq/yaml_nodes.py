"""Parsing YAML into nodes that remember their line, for file:line problems."""

from __future__ import annotations

import yaml


def compose_yaml(text: str) -> yaml.Node | None:
    """The YAML node tree (nodes carry their line numbers).

    libyaml's parser is about ten times faster, which matters for reloading a large FAQ;
    it reports syntax errors at slightly different positions, so a file it rejects is
    parsed again by the pure-Python parser for the error admins see documented.
    """
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.compose(text, Loader=loader)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)
