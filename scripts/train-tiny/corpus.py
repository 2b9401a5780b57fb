"""Training text: the King James Version of the Bible (public domain), as
Debian's `bible-kjv` / `bible-kjv-text` packages print it.

One document per chapter, one verse per line, verse numbers and headings
dropped. Every HELDOUT_EVERY-th chapter is held out for evaluation and never
trained on.
"""
import re
import subprocess

HELDOUT_EVERY = 40
VERSE = re.compile(r"^\s+\d+\s+(.*\S)\s*$")


def kjv_lines():
    """The whole KJV as the `bible` program prints it (one verse per line)."""
    out = subprocess.run(
        ["bible", "-l100000", "Gen1:1-Rev22:21"],
        check=True, capture_output=True, text=True,
    ).stdout
    return out.splitlines()


def chapters(lines):
    """Splits the printout into chapters: lists of verse texts."""
    result, current = [], None
    for line in lines:
        m = VERSE.match(line)
        if m:
            if current is None:
                raise ValueError(f"verse before any chapter heading: {line!r}")
            current.append(m.group(1))
        elif line.strip():
            # A heading such as "Genesis 1" starts a new chapter.
            current = []
            result.append(current)
    return [c for c in result if c]


def split_corpus():
    """(train_docs, heldout_docs): each doc is one chapter, verses joined by newlines."""
    docs = ["\n".join(c) for c in chapters(kjv_lines())]
    train = [d for i, d in enumerate(docs) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    heldout = [d for i, d in enumerate(docs) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    return train, heldout


if __name__ == "__main__":
    tr, ho = split_corpus()
    print(len(tr), "train chapters,", sum(map(len, tr)), "chars;", len(ho), "held out,", sum(map(len, ho)), "chars")
