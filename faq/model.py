"""The FAQ domain model: entries as admins write them, and problems found in their files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaqEntry:
    """One question/answer pair loaded from a FAQ YAML file.

    ``examples`` are test utterances that must match this entry (``faq test``); they are
    deliberately not used for matching, so that the test measures the FAQ as written.
    """

    id: str
    category: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    examples: tuple[str, ...]
    locale: str
    source: str
    line: int


@dataclass(frozen=True)
class FaqProblem:
    """A mistake in a FAQ file, located by file and 1-based line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FaqError(Exception):
    """Raised when a FAQ directory cannot be loaded; carries every problem found."""

    def __init__(self, problems: tuple[FaqProblem, ...]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    def __reduce__(self) -> tuple[type[FaqError], tuple[tuple[FaqProblem, ...]]]:
        # so that the error survives the trip back from a build process
        return (FaqError, (self.problems,))
