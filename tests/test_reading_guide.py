"""docs/reading-guide.md: every file it names exists, and every ``path::name`` is defined in
that file (a function, a class or a method), so the guide cannot drift from the code."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "reading-guide.md"


def _references():
    text = GUIDE.read_text(encoding="utf-8")
    return re.findall(r"`((?:scratchnet|examples|benchmarks|tests)/[\w/.]+)(?:::(\w+))?`", text)


def test_the_guide_names_files_and_definitions_that_exist():
    refs = _references()
    assert len(refs) > 40
    missing = []
    for path, name in refs:
        file = REPO / path
        if not file.is_file():
            missing.append(path)
            continue
        if name and not re.search(rf"^\s*(def|class) {name}\b", file.read_text(encoding="utf-8"),
                                  re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert missing == []
