"""A small fixture notation, after texlab's tests: `%! name` starts a file; a line of only spaces and markers
points at the text line above it: `|` the cursor, `^^^` a range, `!` a position (an empty range)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mark:
    file: str
    line: int
    start: int
    end: int


@dataclass
class Fixture:
    files: dict[str, str] = field(default_factory=dict)
    cursor: Mark | None = None
    ranges: list[Mark] = field(default_factory=list)

    def ranges_in(self, name: str) -> list[Mark]:
        return [r for r in self.ranges if r.file == name]


_MARKERS = re.compile(r"^[ |^!]*[|^!][ |^!]*$")


def parse(text: str) -> Fixture:
    fx = Fixture()
    for chunk in re.split(r"(?m)^%! ", text.strip("\n"))[1:]:
        name, _, body = chunk.partition("\n")
        name = name.strip()
        lines: list[str] = []
        for raw in body.split("\n"):
            line = raw.rstrip()
            if line and _MARKERS.match(line) and lines:
                above = len(lines) - 1
                if "|" in line and fx.cursor is None:
                    col = line.index("|")
                    fx.cursor = Mark(name, above, col, col)
                if "^" in line:
                    fx.ranges.append(Mark(name, above, line.index("^"), line.rindex("^") + 1))
                if "!" in line:
                    col = line.index("!")
                    fx.ranges.append(Mark(name, above, col, col))
                continue
            lines.append(line)
        while lines and not lines[-1]:
            lines.pop()
        fx.files[name] = "\n".join(lines) + "\n"
    return fx
