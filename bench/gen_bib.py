"""A deterministic cryptobib-scale .bib: the real @string macros of cryptobib's abbrev3.bib, then N entries that use
them (booktitle, editor, volume, month, publisher, address by macro), with abstracts, DOIs and LaTeX in titles
and names (accents, {\\TeX}-style groups, math, \\emph, \\textsc).

    .venv/bin/python bench/gen_bib.py 72000 [OUT]      # default OUT: bench/corpus/bib-72000/library.bib

The macros come from ../shared/realworld/bib/cryptobib-abbrev3.bib (read, never copied into the project).
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

SEED = 20261128
HERE = Path(__file__).resolve().parent
ABBREV = HERE.parent.parent / "shared" / "realworld" / "bib" / "cryptobib-abbrev3.bib"

_WORDS = """secure efficient protocol encryption signature signatures scheme schemes zero-knowledge proof proofs
lattice lattices based attack attacks analysis cryptanalysis block cipher ciphers hash function functions
multiparty computation oblivious transfer commitment commitments threshold identity-based public-key
symmetric authenticated key exchange leakage resilient side-channel fault quantum post-quantum isogeny
isogenies elliptic curve curves pairing pairings garbled circuits homomorphic fully somewhat
verifiable delegation succinct arguments snarks random oracle model standard tight security reductions
adaptive selective chosen ciphertext plaintext indistinguishability obfuscation functional broadcast
traitor tracing secret sharing ring learning errors code-based multivariate differential linear
impossible boomerang related-key round-reduced permutation sponge tweakable authenticated memory-hard
password proofs-of-space blockchain consensus byzantine agreement anonymous credentials group blind
revocable updatable forward secrecy post-compromise messaging channels composable universally""".split()
_FILL = "on the of for with and from in a new towards revisiting improved practical generic".split()
_FIRST = """Dan Matthew Shafi Silvio Oded Moni Yehuda Rafael Ran Yuval Amit Hugo Eike Mihir Phillip Victor Anna
Chris Nadia Vinod Craig Zvika Daniele Chris Léo Ward Damien Jean-Sébastien Pierre-Alain Ivan Jesper Claudio
Tal Benny Huijia Rachel Yael Alon Abhishek Allison Brent Sanjam Aayush Krzysztof Stefano Michel Fabrice""".split()
_LAST = """Boneh Franklin Goldwasser Micali Goldreich Naor Lindell Pass Canetti Ishai Sahai Krawczyk Kiltz
Bellare Rogaway Shoup Lysyanskaya Peikert Heninger Vaikuntanathan Gentry Brakerski Micciancio Ducas Stehlé
Castryck Coron Fouque Damgård Nielsen Orlandi Malkin Applebaum Lin Kalai Lombardi Waters Garg Jain
Pietrzak Tessaro Abdalla Benhamouda Müller Gödel Schnorr Pointcheval Vergnaud""".split()
_LATEX_NAMES = {"Damgård": "Damg{\\aa}rd", "Stehlé": "Stehl{\\'e}", "Müller": "M{\\\"u}ller",
                "Gödel": "G{\\\"o}del", "Léo": "L{\\'e}o", "Jean-Sébastien": "Jean-S{\\'e}bastien"}
_TITLE_TEX = ["{\\TeX}-style {Proofs}", "$\\lambda$-Calculus", "\\emph{Tight} Bounds", "\\textsc{Sigma} Protocols",
              "{NIZK}", "{$\\mathcal{O}(n \\log n)$}", "\\texttt{AES}", "{LWE}", "{SNARK}s", "{ECDSA}"]
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()


def venues(abbrev: str) -> list[tuple[str, str, int]]:
    """(key prefix, macro stem, year) for every conference-year that has its `name`, `ed` and `vol` macros."""
    names = set(re.findall(r"@string\{(\w+?)(\d\d)name\b", abbrev, re.I))
    eds = set(re.findall(r"@string\{(\w+?)(\d\d)ed\b", abbrev, re.I))
    out = []
    for stem, yy in sorted(names & eds):
        if stem.lower() == "xxxx":
            continue
        year = 1900 + int(yy) if int(yy) > 50 else 2000 + int(yy)
        out.append((stem[:2].upper() if len(stem) > 2 else stem.upper(), stem, year))
    return out


def _name(rng: random.Random, tex: bool) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    if tex:
        first, last = _LATEX_NAMES.get(first, first), _LATEX_NAMES.get(last, last)
    return f"{first} {last}"


def entry(rng: random.Random, i: int, venue: tuple[str, str, int], used: dict[str, int]) -> str:
    prefix, stem, year = venue
    n_auth = rng.randint(1, 5)
    authors = [_name(rng, rng.random() < 0.5) for _ in range(n_auth)]
    lasts = "".join(re.sub(r"[^A-Za-z]", "", a.split()[-1])[:3] for a in authors[:3])
    base = f"{prefix}:{lasts}{year % 100:02d}"
    n = used.get(base, 0)
    used[base] = n + 1
    # cryptobib's convention: a, b, c... on collisions (then aa, ab, ...)
    key = base if n == 0 else base + (chr(96 + n) if n <= 26 else chr(96 + n // 26) + chr(97 + n % 26))
    words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 10))]
    words.insert(rng.randint(0, len(words)), rng.choice(_FILL))
    title = " ".join(words).capitalize()
    if rng.random() < 0.3:
        title = f"{rng.choice(_TITLE_TEX)}: {title}"
    abstract = " ".join(rng.choice(_WORDS + _FILL * 2) for _ in range(rng.randint(60, 140))).capitalize() + "."
    page = rng.randint(1, 900)
    sep = " and\n                  "
    lines = [f"@InProceedings{{{key},",
             f'  author =       "{sep.join(authors)}",',
             f'  title =        "{title}",',
             f'  pages =        "{page}--{page + rng.randint(10, 30)}",',
             f"  editor =       {stem}{year % 100:02d}ed,",
             f"  booktitle =    {stem}{year % 100:02d}name,",
             f"  address =      {stem}{year % 100:02d}addr," if rng.random() < 0.5 else "",
             f"  month =        {rng.choice(_MONTHS)}," if rng.random() < 0.7 else "",
             f"  volume =       {stem}{year % 100:02d}vol,",
             f"  year =         {year},",
             f'  doi =          "10.1007/978-3-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}-{i % 10}_{i}",',
             f"  abstract =     {{{abstract}}},",
             "}"]
    return "\n".join(x for x in lines if x) + "\n\n"


def generate(n: int, out: Path) -> Path:
    """Write N entries after the real macros; the same N always gives the same bytes."""
    abbrev = ABBREV.read_text(encoding="utf-8")
    vs = venues(abbrev)
    rng = random.Random(SEED)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    used: dict[str, int] = {}
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        f.write(abbrev)
        f.write("\n\n")
        for i in range(n):
            f.write(entry(rng, i, rng.choice(vs), used))
    tmp.replace(out)
    return out


def ensure_bib(n: int) -> Path:
    out = HERE / "corpus" / f"bib-{n}" / "library.bib"
    if not out.is_file():
        generate(n, out)
    return out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 72000
    path = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "corpus" / f"bib-{n}" / "library.bib"
    print(generate(n, path))
