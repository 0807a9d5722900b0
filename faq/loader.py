"""Load and validate a directory of FAQ YAML files.

File format (see DESIGN.md, "FAQ files")::

    locale: ja                 # optional default for the file's entries
    entries:
      - id: password-reset     # kebab-case, unique across all files
        category: アカウント
        question: パスワードを忘れた場合は？
        alternates: [パスワードの再設定方法]   # optional
        answer: |
          ログイン画面から再設定できます。
        examples: [パスワード忘れた]           # optional; checked by `faq test`
        locale: ja             # optional; overrides the file's locale

Locale rule: every entry needs a locale, taken from its own ``locale`` key or else from
the file's top-level ``locale``. There is no silent default, so an English file that forgot
its ``locale:`` line is reported rather than indexed as Japanese.

Validation walks PyYAML's node tree (not the constructed Python objects) so that every
problem carries the 1-based line where it is. All problems are collected, never just the
first.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from faq.model import FaqEntry, FaqError, FaqProblem
from faq.synonyms import SYNONYM_FILE_NAMES, SynonymTable, load_synonyms, synonyms_file
from faq.yaml_nodes import compose_yaml

SUPPORTED_LOCALES = ("ja", "en")

_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TOP_KEYS = ("locale", "entries")
_ENTRY_KEYS = ("id", "category", "question", "alternates", "answer", "examples", "locale")
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_YAML_SUFFIXES = (".yaml", ".yml")


def faq_files(path: Path) -> list[Path]:
    """The FAQ files of a directory: ``*.yaml`` and ``*.yml``, not recursive, sorted by name;
    the synonyms file (:mod:`faq.synonyms`) is not one of them."""
    if not path.is_dir():
        return []
    return sorted(
        p
        for p in path.iterdir()
        if p.suffix in _YAML_SUFFIXES and p.name not in SYNONYM_FILE_NAMES and p.is_file()
    )


def faq_fingerprint(path: Path) -> tuple[tuple[str, float, int], ...]:
    """(name, mtime_ns, size) of every FAQ file and of the synonyms file, to notice edits,
    additions and removals."""
    result: list[tuple[str, float, int]] = []
    synonyms = synonyms_file(path) if path.is_dir() else None
    for file in [*faq_files(path), *([synonyms] if synonyms else [])]:
        try:
            st = file.stat()
        except FileNotFoundError:  # removed between listing and stat: simply not there
            continue
        result.append((file.name, float(st.st_mtime_ns), st.st_size))
    return tuple(result)


def check_faq_dir(path: Path) -> tuple[tuple[FaqEntry, ...], tuple[FaqProblem, ...]]:
    """Parse every FAQ file of ``path``; return the valid entries and all problems found.

    Directory-level problems (missing or empty directory) use line 0. Problems of the
    directory's synonyms file are included.
    """
    if not path.is_dir():
        return (), (FaqProblem(str(path), 0, "FAQ directory does not exist"),)
    files = faq_files(path)
    if not files:
        return (), (FaqProblem(str(path), 0, "no *.yaml or *.yml files in the FAQ directory"),)
    entries, problems = check_faq_files(files)
    _, synonym_problems = load_synonyms(path)
    return entries, tuple(sorted((*problems, *synonym_problems), key=lambda p: (p.file, p.line)))


def check_faq_files(files: list[Path]) -> tuple[tuple[FaqEntry, ...], tuple[FaqProblem, ...]]:
    """Parse the given FAQ files as one FAQ (ids unique across them); entries and problems."""
    entries: list[FaqEntry] = []
    problems: list[FaqProblem] = []
    for file in files:
        parsed = _FileParser(str(file))
        parsed.parse(file.read_text(encoding="utf-8"))
        entries.extend(parsed.entries)
        problems.extend(parsed.problems)
    unique, duplicate_problems = _drop_duplicate_ids(entries)
    problems.extend(duplicate_problems)
    problems.sort(key=lambda p: (p.file, p.line))
    return tuple(unique), tuple(problems)


def load_faq_dir(path: Path) -> tuple[FaqEntry, ...]:
    """Load every entry of a FAQ directory; raise :class:`FaqError` listing all problems."""
    entries, problems = check_faq_dir(path)
    if problems:
        raise FaqError(problems)
    return entries


def _drop_duplicate_ids(
    entries: list[FaqEntry],
) -> tuple[list[FaqEntry], list[FaqProblem]]:
    first: dict[str, FaqEntry] = {}
    problems: list[FaqProblem] = []
    for entry in entries:
        seen = first.get(entry.id)
        if seen is None:
            first[entry.id] = entry
        else:
            problems.append(
                FaqProblem(
                    entry.source,
                    entry.line,
                    f"duplicate id {entry.id!r}: already used at {seen.source}:{seen.line}",
                )
            )
    return list(first.values()), problems


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


@dataclass
class _FileParser:
    """Validates one file's node tree, accumulating entries and problems."""

    file: str
    entries: list[FaqEntry] = field(default_factory=list)
    problems: list[FaqProblem] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(FaqProblem(self.file, line, message))

    def parse(self, text: str) -> None:
        try:
            root = compose_yaml(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else 1
            detail = " ".join(str(s) for s in (exc.context, exc.problem) if s)
            self.problem(line, f"YAML syntax error: {detail}")
            return
        except yaml.YAMLError as exc:
            self.problem(1, f"YAML error: {exc}")
            return
        if root is None:
            self.problem(1, "file is empty; expected 'locale:' and 'entries:'")
            return
        if not isinstance(root, yaml.MappingNode):
            self.problem(_line(root), "top level must be a mapping with 'locale' and 'entries'")
            return
        top = self.mapping(root, _TOP_KEYS, "top-level")
        file_locale = self.locale(top.get("locale"))
        entries_node = top.get("entries")
        if entries_node is None:
            self.problem(_line(root), "missing 'entries:' list")
            return
        if not isinstance(entries_node, yaml.SequenceNode):
            self.problem(_line(entries_node), "'entries' must be a list of entries")
            return
        if not entries_node.value:
            self.problem(_line(entries_node), "'entries' is empty")
        for item in entries_node.value:
            self.entry(item, file_locale, file_has_locale="locale" in top)

    def mapping(
        self, node: yaml.MappingNode, allowed: tuple[str, ...], what: str
    ) -> dict[str, yaml.Node]:
        """Keys of a mapping node; reports unknown and repeated keys."""
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                allowed_list = ", ".join(allowed)
                self.problem(
                    _line(key_node),
                    f"unknown {what} key {key!r}{suggestion}; allowed: {allowed_list}",
                )
                continue
            if key in result:
                self.problem(_line(key_node), f"key {key!r} is repeated")
            result[key] = value_node
        return result

    def locale(self, node: yaml.Node | None) -> str | None:
        if node is None:
            return None
        value = self.text(node, "locale")
        if value is None:
            return None
        if value not in SUPPORTED_LOCALES:
            self.problem(
                _line(node),
                f"unsupported locale {value!r}; use one of {', '.join(SUPPORTED_LOCALES)}",
            )
            return None
        return value

    def text(self, node: yaml.Node, key: str, *, required: bool = False) -> str | None:
        """A scalar string value; reports other types and (if required) blank strings."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (_STR_TAG, _NULL_TAG):
            kind = _kind(node)
            self.problem(_line(node), f"{key!r} must be text, not {kind} (quote it if needed)")
            return None
        value = str(node.value) if node.tag == _STR_TAG else ""
        if required and not value.strip():
            self.problem(_line(node), f"{key!r} is empty")
            return None
        return value.strip()

    def text_list(self, node: yaml.Node | None, key: str) -> tuple[str, ...]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(_line(node), f"{key!r} must be a list of texts, not {_kind(node)}")
            return ()
        values: list[str] = []
        for item in node.value:
            value = self.text(item, f"{key} item", required=True)
            if value is not None:
                values.append(value)
        return tuple(values)

    def entry(self, node: yaml.Node, file_locale: str | None, *, file_has_locale: bool) -> None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(_line(node), f"an entry must be a mapping with 'id:', not {_kind(node)}")
            return
        line = _line(node)
        keys = self.mapping(node, _ENTRY_KEYS, "entry")
        before = len(self.problems)
        fields: dict[str, str | None] = {}
        for key in ("id", "category", "question", "answer"):
            value_node = keys.get(key)
            if value_node is None:
                self.problem(line, f"entry is missing {key!r}")
                fields[key] = None
            else:
                fields[key] = self.text(value_node, key, required=True)
        entry_id = fields["id"]
        if entry_id is not None and not _ID_PATTERN.match(entry_id):
            self.problem(
                _line(keys["id"]),
                f"id {entry_id!r} must be kebab-case: lowercase letters, digits and '-'",
            )
        alternates = self.text_list(keys.get("alternates"), "alternates")
        examples = self.text_list(keys.get("examples"), "examples")
        locale = self.locale(keys["locale"]) if "locale" in keys else file_locale
        # a bad locale was already reported where it is written; don't repeat it per entry
        if locale is None and "locale" not in keys and not file_has_locale:
            self.problem(line, "no locale: set 'locale:' at the top of the file or on the entry")
        if len(self.problems) > before or locale is None:
            return
        assert entry_id is not None
        self.entries.append(
            FaqEntry(
                id=entry_id,
                category=fields["category"] or "",
                question=fields["question"] or "",
                alternates=alternates,
                answer=fields["answer"] or "",
                examples=examples,
                locale=locale,
                source=self.file,
                line=line,
            )
        )


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {
        "tag:yaml.org,2002:int": "a number",
        "tag:yaml.org,2002:float": "a number",
        "tag:yaml.org,2002:bool": "a true/false value",
        "tag:yaml.org,2002:null": "empty",
        "tag:yaml.org,2002:timestamp": "a date",
    }.get(str(node.tag), "a non-text value")


def load_faq(path: Path) -> tuple[tuple[FaqEntry, ...], SynonymTable]:
    """Entries and synonyms of a FAQ directory, or of a single FAQ file (whose directory's
    synonyms file, if any, applies). Raises :class:`FaqError` listing every problem."""
    if path.is_file():
        entries, problems = check_faq_files([path])
        synonyms, synonym_problems = load_synonyms(path.parent)
        problems = (*problems, *synonym_problems)
    else:
        entries, problems = check_faq_dir(path)
        synonyms, _ = load_synonyms(path) if path.is_dir() else (SynonymTable(), ())
    if problems:
        raise FaqError(tuple(problems))
    return entries, synonyms
