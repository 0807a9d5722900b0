"""English words to Japanese ones, from JMdict's English glosses, so that a question
written in English ("I forgot my password", "how to use coupon") meets a Japanese FAQ.

A Japanese shop's foreign customers write in English to an FAQ written only in Japanese.
JMdict (the Electronic Dictionary Research and Development Group's Japanese-English
dictionary, CC BY-SA 4.0) glosses each Japanese word in English; read backwards, its
glosses say which Japanese words an English word stands for. Only common words are kept
(JMdict marks them with priority tags): a rare archaic sense of "password" (符牒) would
only add noise. For each English word the few best Japanese words are kept, best first:
more common words, and words whose earlier senses carry the gloss, come first.

The dictionary ships as ``jamdict-data`` (an SQLite file, 325 MB unpacked); ``python -m
faq.glossary build`` reads it once and writes the small table the matcher loads (a
gzipped TSV of about 38,000 English words, 0.4 MB), by default into the environment
(:func:`installed_path`), where ``make`` puts it.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import lzma
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from faq.english import STOPWORDS, stem

# Japanese words kept per English word: the third still helps ("use" → 使う, 使用, 利用),
# beyond it they are mostly other senses.
WORDS_PER_ENGLISH = 3
# Glosses longer than this many words are definitions, not translations.
MAX_GLOSS_WORDS = 2
# JMdict's priority tags: news1/ichi1/spec1/gai1 mark the most common words, the *2 ones
# less common, nfNN the frequency band (01 most frequent) in a newspaper corpus.
_FIRST_RANK = frozenset({"news1", "ichi1", "spec1", "gai1"})
_SECOND_RANK = frozenset({"news2", "ichi2", "spec2", "gai2"})
# English past forms that no suffix stripping brings back to the word JMdict glosses
# ("forgot my password" → forget). Closed class: the common irregular verbs.
IRREGULAR_PAST = {
    "forgot": "forget", "forgotten": "forget", "lost": "lose", "paid": "pay",
    "sent": "send", "bought": "buy", "got": "get", "gotten": "get", "made": "make",
    "took": "take", "taken": "take", "broke": "break", "broken": "break", "came": "come",
    "went": "go", "gone": "go", "gave": "give", "given": "give", "told": "tell",
    "said": "say", "left": "leave", "brought": "bring", "found": "find", "kept": "keep",
    "held": "hold", "sold": "sell", "spent": "spend", "stole": "steal", "stolen": "steal",
    "wrote": "write", "written": "write", "chose": "choose", "chosen": "choose",
    "began": "begin", "begun": "begin", "ran": "run", "won": "win", "met": "meet",
    "felt": "feel", "meant": "mean", "saw": "see", "seen": "see", "knew": "know",
    "known": "know", "thought": "think", "understood": "understand", "fell": "fall",
    "fallen": "fall", "hid": "hide", "hidden": "hide", "shut": "shut", "cut": "cut",
}  # fmt: skip
_PARENTHESES = re.compile(r"\([^)]*\)")
_GLOSS_WORD = re.compile(r"^[a-z][a-z'\-]*( [a-z][a-z'\-]*)?$")


class GlossaryError(Exception):
    """The glossary file or the dictionary to build it from is missing or unreadable."""


@dataclass(frozen=True)
class Glossary:
    """Japanese words for English ones: by the exact word, then by its stem."""

    exact: dict[str, tuple[str, ...]]
    stemmed: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, table: Iterable[tuple[str, Iterable[str]]]) -> Glossary:
        """From (English word, Japanese words best first) pairs."""
        exact: dict[str, tuple[str, ...]] = {}
        stemmed: dict[str, list[str]] = {}
        for english, japanese in table:
            words = tuple(dict.fromkeys(japanese))
            exact[english] = words
            merged = stemmed.setdefault(stem(english), [])
            merged += [w for w in words if w not in merged]
        return cls(exact, {k: tuple(v) for k, v in stemmed.items()})

    def __len__(self) -> int:
        return len(self.exact)

    def japanese_for(self, word: str, limit: int = WORDS_PER_ENGLISH) -> tuple[str, ...]:
        """The Japanese words for a lower-case English ``word``, best first: its own
        glosses, then those of words with the same stem (ships → ship)."""
        if word in STOPWORDS:
            return ()
        word = IRREGULAR_PAST.get(word, word)
        found = list(self.exact.get(word, ()))
        if len(found) < limit:
            found += [w for w in self.stemmed.get(stem(word), ()) if w not in found]
        return tuple(found[:limit])


def installed_path() -> Path:
    """Where ``make`` builds the glossary: inside the environment, beside the packages,
    so that it goes when the environment goes."""
    return Path(sys.prefix) / "share" / "helpdesk" / "glossary-en-ja.tsv.gz"


def resolve_glossary(setting: str | None) -> Path | None:
    """The glossary file a setting names: ``auto`` (or unset) the installed one if it was
    built, ``off`` none, anything else a path, which must exist."""
    if setting is None or setting.strip().lower() in ("", "auto"):
        path = installed_path()
        return path if path.is_file() else None
    if setting.strip().lower() in ("off", "none", "0", "false"):
        return None
    path = Path(setting)
    if not path.is_file():
        raise GlossaryError(f"{path}: no such glossary file")
    return path


def load_glossary(path: Path) -> Glossary:
    """Read a glossary written by :func:`write_glossary`. Raises :class:`GlossaryError`."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            return Glossary.of(_rows(lines, path))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise GlossaryError(f"{path}: cannot read the glossary ({exc})") from exc


def _rows(lines: Iterable[str], path: Path) -> Iterator[tuple[str, list[str]]]:
    for number, line in enumerate(lines, 1):
        english, tab, japanese = line.rstrip("\n").partition("\t")
        if not tab or not english or not japanese:
            raise GlossaryError(f"{path}:{number}: expected 'english<TAB>word,word'")
        yield english, japanese.split(",")


def write_glossary(table: dict[str, list[str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    # no name, mtime=0: the same dictionary gives the same bytes
    with (
        open(partial, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as out,
    ):
        for english in sorted(table):
            out.write(f"{english}\t{','.join(table[english])}\n".encode())
    partial.replace(path)


# -- building from JMdict ---------------------------------------------------------------


def jmdict_file() -> Path:
    """The JMdict database of the installed ``jamdict-data`` package (packed or not)."""
    spec = importlib.util.find_spec("jamdict_data")
    if spec is None or not spec.submodule_search_locations:
        raise GlossaryError("jamdict-data is not installed (pip install jamdict-data)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for name in ("jamdict.db", "jamdict.db.xz"):
        if (folder / name).is_file():
            return folder / name
    raise GlossaryError(f"jamdict-data has no jamdict.db in {folder}")


def _rank(tags: Iterable[str]) -> int:
    """0 for JMdict's most common words, growing as words get rarer."""
    best = 9
    for tag in tags:
        if tag in _FIRST_RANK:
            best = min(best, 0)
        elif tag in _SECOND_RANK:
            best = min(best, 2)
        elif tag.startswith("nf") and tag[2:].isdigit():
            best = min(best, int(tag[2:]) // 12)  # 48 bands: 0..4
    return best


def gloss_key(gloss: str) -> str | None:
    """The English word a gloss translates to, or None for a definition: "to forget"
    → forget, "password (for a door)" → password, "a person who..." → None."""
    text = _PARENTHESES.sub("", gloss).strip().lower()
    if text.startswith("to "):
        text = text[3:]
    text = " ".join(text.split())
    if not _GLOSS_WORD.match(text) or len(text.split()) > MAX_GLOSS_WORDS:
        return None
    return text


def read_jmdict(db: sqlite3.Connection) -> dict[str, list[str]]:
    """English gloss → common Japanese headwords, best first (see the module text)."""
    tags: dict[tuple[str, int], list[str]] = {}
    for priorities, kind in (("KJP", "kanji"), ("KNP", "kana")):
        for kid, tag in db.execute(f"SELECT kid, text FROM {priorities}"):
            tags.setdefault((kind, kid), []).append(tag)
    # an entry's headword: its first common kanji spelling, else its first common kana
    # (loanwords such as パスワード have only kana)
    headword: dict[int, tuple[int, str]] = {}
    for kind, spellings in (("kanji", "Kanji"), ("kana", "Kana")):
        query = f"SELECT ID, idseq, text FROM {spellings} ORDER BY ID"
        for kid, idseq, text in db.execute(query):
            if idseq not in headword and (kind, kid) in tags:
                headword[idseq] = (_rank(tags[kind, kid]), text)
    candidates: dict[str, set[tuple[int, str]]] = {}
    sense_number: dict[int, dict[int, int]] = {}
    rows = db.execute(
        "SELECT g.sid, s.idseq, g.text FROM SenseGloss g JOIN Sense s ON s.ID = g.sid"
        " WHERE g.lang = 'eng' ORDER BY g.sid"
    )
    for sid, idseq, gloss in rows:
        if idseq not in headword:
            continue
        senses = sense_number.setdefault(idseq, {})
        number = senses.setdefault(sid, len(senses))
        key = gloss_key(gloss)
        if key is not None:
            rank, text = headword[idseq]
            candidates.setdefault(key, set()).add((rank + number, text))
    table: dict[str, list[str]] = {}
    for key, found in candidates.items():
        words = list(dict.fromkeys(text for _, text in sorted(found)))
        table[key] = words[: WORDS_PER_ENGLISH + 1]  # one spare for the stem merge
    return table


def build_from_jmdict(source: Path, out: Path) -> int:
    """Write the glossary of the JMdict database ``source`` (``.db`` or ``.db.xz``) to
    ``out``; returns how many English words it has."""
    with tempfile.TemporaryDirectory() as scratch:
        db_path = source
        if source.suffix == ".xz":
            db_path = Path(scratch) / "jamdict.db"
            with lzma.open(source) as packed, open(db_path, "wb") as unpacked:
                shutil.copyfileobj(packed, unpacked, 1 << 20)
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            table = read_jmdict(db)
        except sqlite3.Error as exc:
            raise GlossaryError(f"{source}: not a JMdict database ({exc})") from exc
        finally:
            db.close()
    write_glossary(table, out)
    return len(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faq.glossary", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the glossary from jamdict-data")
    build.add_argument("--jmdict", type=Path, help="jamdict.db(.xz); default: the package's")
    build.add_argument("--out", type=Path, default=None, help="default: the environment's")
    args = parser.parse_args(argv)
    out = args.out or installed_path()
    try:
        count = build_from_jmdict(args.jmdict or jmdict_file(), out)
    except GlossaryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"glossary of {count} English words written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
