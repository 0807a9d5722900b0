"""Business synonyms: words that mean the same thing to this FAQ's business.

An optional ``synonyms.yaml`` (or ``.yml``) beside the FAQ files::

    locale: ja            # optional: the groups apply only to entries (and searches) of
                          # this locale; without it they apply to every entry and query
    synonyms:
      - [ログイン, サインイン]
      - [送料, 配送料]
      - [解約, 退会]      # only where the admin says they mean the same here

Each group is a list of at least two terms; a term may belong to one group only. Matching
folds every term of a group into the group's first term, in the FAQ text when the index is
built and in the customer's message when it is searched, so a message using one term finds
an entry written with another. Terms are compared after :func:`faq.normalize.normalize`
(width, case, punctuation), Japanese terms anywhere in the text, Latin-script terms as whole
words only (``cancel`` does not rewrite ``cancellation``).

The general thesaurus of SudachiDict is used anyway (see :mod:`faq.analyzer`); this file is
for the words that are synonyms only in this business, or that the dictionary lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from faq.model import FaqProblem
from faq.normalize import normalize
from faq.yaml_nodes import compose_yaml

SYNONYM_FILE_NAMES = ("synonyms.yaml", "synonyms.yml")

_STR_TAG = "tag:yaml.org,2002:str"
_TOP_KEYS = ("locale", "synonyms")
_SUPPORTED_LOCALES = ("ja", "en")


@dataclass(frozen=True)
class SynonymGroup:
    """Terms (normalised) that mean the same; the first is the one the others fold into."""

    terms: tuple[str, ...]
    line: int


class SynonymTable:
    """Folds synonyms into their group's first term. Immutable; cheap to call per query."""

    def __init__(self, groups: Iterable[SynonymGroup] = (), locale: str | None = None) -> None:
        self.groups = tuple(groups)
        self.locale = locale
        self._canonical: dict[str, str] = {}
        for group in self.groups:
            for term in group.terms[1:]:
                self._canonical[term] = group.terms[0]
        alternatives = sorted(self._canonical, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(_term_pattern(t) for t in alternatives)) if alternatives else None
        )

    def __bool__(self) -> bool:
        return bool(self.groups)

    def applies_to(self, locale: str | None) -> bool:
        """Whether the groups apply to text of ``locale`` (None: any locale)."""
        return bool(self.groups) and (self.locale is None or locale in (None, self.locale))

    def rewrite(self, normalized_text: str) -> str:
        """``normalized_text`` with every synonym replaced by its group's first term."""
        if self._pattern is None:
            return normalized_text
        return self._pattern.sub(lambda m: self._canonical[m.group()], normalized_text)


def _term_pattern(term: str) -> str:
    escaped = re.escape(term)
    if term.isascii():
        # whole words only, so "cancel" leaves "cancellation" alone
        return rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return escaped


def synonyms_file(directory: Path) -> Path | None:
    """The synonyms file of a FAQ directory, if there is one."""
    for name in SYNONYM_FILE_NAMES:
        path = directory / name
        if path.is_file():
            return path
    return None


def load_synonyms(directory: Path) -> tuple[SynonymTable, tuple[FaqProblem, ...]]:
    """The synonym table of a FAQ directory (empty if it has no synonyms file) and every
    problem found in the file, located by file and line."""
    path = synonyms_file(directory)
    if path is None:
        return SynonymTable(), ()
    return parse_synonyms(path.read_text(encoding="utf-8"), str(path))


def parse_synonyms(text: str, file: str) -> tuple[SynonymTable, tuple[FaqProblem, ...]]:
    """Parse and validate the text of a synonyms file."""
    problems: list[FaqProblem] = []

    def problem(node_or_line: yaml.Node | int, message: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        problems.append(FaqProblem(file, line, message))

    try:
        root = compose_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem(int(mark.line) + 1 if mark is not None else 1, f"YAML syntax error: {exc.problem}")
        return SynonymTable(), tuple(problems)
    if root is None or not isinstance(root, yaml.MappingNode):
        problem(root if root is not None else 1,
                "a synonyms file must be a mapping with 'synonyms:' (a list of groups)")
        return SynonymTable(), tuple(problems)

    top: dict[str, yaml.Node] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        if key not in _TOP_KEYS:
            problem(key_node, f"unknown key {key!r}; allowed: {', '.join(_TOP_KEYS)}")
        else:
            top[key] = value_node
    locale = None
    if "locale" in top:
        node = top["locale"]
        value = str(node.value) if isinstance(node, yaml.ScalarNode) else ""
        if value not in _SUPPORTED_LOCALES:
            problem(node, f"unsupported locale {value!r}; use one of "
                          f"{', '.join(_SUPPORTED_LOCALES)}")
        else:
            locale = value
    groups_node = top.get("synonyms")
    if groups_node is None:
        problem(root, "missing 'synonyms:' (a list of groups such as [ログイン, サインイン])")
        return SynonymTable(), tuple(problems)
    if not isinstance(groups_node, yaml.SequenceNode):
        problem(groups_node, "'synonyms' must be a list of groups, each a list of terms")
        return SynonymTable(), tuple(problems)

    groups: list[SynonymGroup] = []
    seen: dict[str, int] = {}  # term -> line of its group
    for group_node in groups_node.value:
        if not isinstance(group_node, yaml.SequenceNode):
            problem(group_node, "a synonym group must be a list of terms, e.g. [送料, 配送料]")
            continue
        terms: list[str] = []
        ok = True
        for term_node in group_node.value:
            if not isinstance(term_node, yaml.ScalarNode) or term_node.tag != _STR_TAG:
                problem(term_node, "a synonym term must be text (quote it if needed)")
                ok = False
                continue
            term = normalize(str(term_node.value))
            if not term:
                problem(term_node, "a synonym term is empty")
                ok = False
                continue
            if term in terms:
                problem(term_node, f"term {term!r} is repeated in its group")
                continue
            if term in seen:
                problem(term_node, f"term {term!r} is already in the group at line {seen[term]}")
                ok = False
                continue
            terms.append(term)
        line = _line(group_node)
        if ok and len(terms) < 2:
            problem(group_node, "a synonym group needs at least 2 terms")
            continue
        for term in terms:
            seen.setdefault(term, line)
        if ok:
            groups.append(SynonymGroup(tuple(terms), line))
    if problems:
        return SynonymTable(), tuple(problems)
    return SynonymTable(groups, locale), ()


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1
