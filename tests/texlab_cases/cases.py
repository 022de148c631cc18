"""texlab's citation tests, restated as cases for PaperLens (texlab is GPL-3.0: these are our own fixtures, written
from what its tests check, not its code). Each case names where it comes from; `ours` says where we choose to
answer differently on purpose, and why. Notation: see fixture.py."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    origin: str  # the texlab test (or the issue) the case restates
    request: str  # completion | resolve | hover | definition | references | diagnostics
    fixture: str
    offered: tuple[str, ...] = ()  # completion: labels that must be offered (their edit range is the ^ range)
    not_offered: tuple[str, ...] = ()  # completion: labels that must not be offered
    nothing: bool = False  # no items / no hover / no location / no diagnostics
    contains: tuple[str, ...] = ()  # hover or resolved documentation text
    target: str = ""  # definition: the file it lands in
    include_declaration: bool = False
    diagnostics: tuple[tuple[str, str], ...] = ()  # (file, code) at each ^/! range, in order
    settings: dict[str, object] = field(default_factory=dict)
    ours: str = ""  # why we answer differently from texlab, when we do


TEXLAB = "texlab crates/completion/src/tests.rs"
TEXLAB_OLD = "texlab history: src/completion/latex/citation.rs (2019-2020)"
TEXLAB_IT = "texlab history: tests/completion_latex_citation.rs"
TEXLAB_IT2 = "texlab history: tests/it/completion.rs (2021)"
HOVER = "texlab crates/hover/src/tests.rs"
DEFINITION = "texlab crates/definition/src/tests.rs"
REFERENCES = "texlab crates/references/src/tests.rs"
DIAGNOSTICS = "texlab crates/diagnostics/src/tests.rs"
ISSUE = "issue 14"

FULL_AND_EMPTY_BIB = """
%! refs.bib
@article{foo:2019,
    author = {Foo Bar},
    title = {Baz Qux},
    year = {2019},
}

@article{bar:2005,}
"""

CASES: list[Case] = [
    # ---------------------------------------------------------------- completion
    Case("citation", f"{TEXLAB}: citation", "completion", r"""
%! main.tex
\documentclass{article}
\bibliography{refs}
\begin{document}
\cite{
      |
      !
\end{document}
""" + FULL_AND_EMPTY_BIB, offered=("foo:2019", "bar:2005")),
    Case("citation_open_brace", f"{TEXLAB}: citation_open_brace", "completion", r"""
%! main.tex
\addbibresource{main.bib}
\cite{
      |
      !

%! main.bib
@article{foo,}
""", offered=("foo",)),
    Case("citation_open_brace_multiple", f"{TEXLAB}: citation_open_brace_multiple", "completion", r"""
%! main.tex
\addbibresource{main.bib}
\cite{foo,f
           |
          ^

%! main.bib
@article{foo,}
@article{fab,}
""", offered=("fab",), not_offered=("foo",),
         ours="texlab offers `foo` again although it is already in this key list; citing a key twice in one "
              "\\cite is never wanted, so we leave it out (and check the typed `f` is the edit range with "
              "`fab`, an entry we added)"),
    Case("citation_acronym", f"{TEXLAB}: citation_acronym", "completion", r"""
%! main.tex
\addbibresource{main.bib}
\DeclareAcronym{foo}{cite={}}
                           |
                           !

%! main.bib
@article{foo,}
""", offered=("foo",)),
    Case("citation_after_brace", f"{TEXLAB}: citation_after_brace", "completion", r"""
%! main.tex
\documentclass{article}
\bibliography{main}
\begin{document}
\cite{}
       |
\end{document}

%! main.bib
@article{foo,}
""", nothing=True),
    Case("old_empty", f"{TEXLAB_OLD}: test_empty", "completion", r"""
%! foo.tex
\addbibresource{bar.bib}
\cite{}
      |
      !

%! bar.bib
@article{foo,}

%! baz.bib
@article{bar,}
""", offered=("foo",), not_offered=("bar",)),
    Case("old_single_key", f"{TEXLAB_OLD}: test_single_key", "completion", r"""
%! foo.tex
\addbibresource{bar.bib}
\cite{foo}
      |
      ^^^

%! bar.bib
@article{foo,}

%! baz.bib
@article{bar,}
""", offered=("foo",), not_offered=("bar",)),
    Case("old_second_key", f"{TEXLAB_OLD}: test_second_key", "completion", r"""
%! foo.tex
\addbibresource{bar.bib}
\cite{foo,}
          |
          !

%! bar.bib
@article{foo,}
@article{qux,}

%! baz.bib
@article{bar,}
""", offered=("qux",), not_offered=("foo", "bar"),
         ours="texlab offers `foo`, which is already the first key of this \\cite; we offer the other entries "
              "(`qux`, added to the fixture) at the same empty range"),
    Case("old_outside_cite", f"{TEXLAB_OLD}: test_outside_cite", "completion", r"""
%! foo.tex
\addbibresource{bar.bib}
\cite{}
       |

%! bar.bib
@article{foo,}
""", nothing=True),
    Case("it_valid_citation", f"{TEXLAB_IT}: valid_citation", "resolve", r"""
%! foo.tex
\bibliography{foo}
\begin{document}
\cite{}
      |
\end{document}
""" + FULL_AND_EMPTY_BIB.replace("refs.bib", "foo.bib"), offered=("foo:2019",), contains=("Baz Qux", "2019")),
    Case("it_invalid_citation", f"{TEXLAB_IT}: invalid_citation", "resolve", r"""
%! foo.tex
\bibliography{foo}
\cite{}
      |
""" + FULL_AND_EMPTY_BIB.replace("refs.bib", "foo.bib"), offered=("bar:2005",), nothing=True),
    Case("it_citation_multi_word", f"{TEXLAB_IT2}: test_citation_multi_word", "resolve", r"""
%! main.tex
\documentclass{article}
\bibliography{main}
\begin{document}
\cite{foo 2
           |
      ^^^^^
\end{document}

%! main.bib
@article{foo,
    author = {Foo Bar},
    title = {Baz Qux},
    year = {2019},
}

@article{bar:2005,}
""", offered=("foo",), contains=("Baz Qux",),
         ours="texlab puts the cursor inside the words (after `f`) and still replaces all of `foo 2`; we "
              "replace what is typed up to the cursor, so the case puts the cursor after the words"),
    Case("it_citation_open_brace", f"{TEXLAB_IT2}: test_citation_open_brace", "resolve", r"""
%! main.tex
\documentclass{article}
\bibliography{main}
\begin{document}
\cite{Foo
         |
      ^^^
\end{document}

%! main.bib
@article{FooBar,
    author = {Foo Bar},
    title = {Baz Qux},
    year = {2019},
}
""", offered=("FooBar",), contains=("Baz Qux", "2019")),
    # ---------------------------------------------------------------- hover
    Case("hover_latex_citation", f"{HOVER}: test_latex_citation", "hover", r"""
%! main.tex
\addbibresource{main.bib}
\cite{foo}
       |
      ^^^

%! main.bib
@article{foo, author = {Foo Bar}, title = {Baz Qux}, year = 1337}
""", contains=("Baz Qux", "1337", "Foo Bar")),
    Case("hover_bibtex_entry_key", f"{HOVER}: test_bibtex_entry_key", "hover", r"""
%! main.bib
@article{foo, author = {Foo Bar}, title = {Baz Qux}, year = 1337}
          |
         ^^^

%! main.tex
\addbibresource{main.bib}
\cite{foo}
""", contains=("Baz Qux", "1337")),
    Case("hover_bibtex_entry_key_empty", f"{HOVER}: test_bibtex_entry_key_empty", "hover", r"""
%! main.bib
@foo{bar,}
      |
""", nothing=True),
    # ---------------------------------------------------------------- definition
    Case("definition_entry", f"{DEFINITION}: test_entry", "definition", r"""
%! foo.tex
\addbibresource{baz.bib}
\cite{foo}
      |
      ^^^

%! bar.bib
@article{foo, bar = {baz}}

%! baz.bib
@article{foo, bar = {baz}}
         ^^^
^^^^^^^^^^^^^^^^^^^^^^^^^^
""", target="baz.bib"),
    Case("definition_document", f"{DEFINITION}: test_document", "definition", r"""
%! foo.tex
\addbibresource{baz.bib}
                  |
                ^^^^^^^

%! bar.bib
@article{foo, bar = {baz}}

%! baz.bib
@article{foo, bar = {baz}}
!
!
""", target="baz.bib"),
    # ---------------------------------------------------------------- references
    Case("references_entry_definition", f"{REFERENCES}: test_entry_definition", "references", r"""
%! foo.bib
@article{foo,}
           |

%! bar.tex
\cite{foo}
      ^^^
\addbibresource{foo.bib}
"""),
    Case("references_entry_definition_include_decl", f"{REFERENCES}: test_entry_definition_include_decl",
         "references", r"""
%! foo.bib
@article{foo,}
           |
         ^^^

%! bar.tex
\cite{foo}
      ^^^
\addbibresource{foo.bib}
""", include_declaration=True),
    Case("references_entry_reference", f"{REFERENCES}: test_entry_reference", "references", r"""
%! foo.bib
@article{foo,}

%! bar.tex
\cite{foo}
       |
      ^^^
\addbibresource{foo.bib}
"""),
    Case("references_entry_reference_include_decl", f"{REFERENCES}: test_entry_reference_include_decl",
         "references", r"""
%! foo.bib
@article{foo,}
         ^^^

%! bar.tex
\cite{foo}
       |
      ^^^
\addbibresource{foo.bib}
""", include_declaration=True),
    # ---------------------------------------------------------------- diagnostics
    Case("bib_entry_missing_l_delim", f"{DIAGNOSTICS}: test_bib_entry_missing_l_delim", "diagnostics", r"""
%! main.bib
@article
        !
""", diagnostics=(("main.bib", "expecting-lbrace"),)),
    Case("bib_entry_missing_r_delim", f"{DIAGNOSTICS}: test_bib_entry_missing_r_delim", "diagnostics", r"""
%! main.bib
@article{foo,
             !

%! main.tex
\bibliography{main}
\cite{foo}
""", diagnostics=(("main.bib", "expecting-rbrace"),),
         ours="texlab reports the missing brace at the start of the next line; we report it just after the "
              "last thing read (the comma), on the entry's own line"),
    Case("bib_entry_missing_name", f"{DIAGNOSTICS}: test_bib_entry_missing_name", "diagnostics", r"""
%! main.bib
@article{
         !
""", diagnostics=(("main.bib", "expecting-key"),)),
    Case("bib_field_missing_eq", f"{DIAGNOSTICS}: test_bib_field_missing_eq", "diagnostics", r"""
%! main.bib
@article{foo,
    field
         !
}

%! main.tex
\bibliography{main}
\cite{foo}
""", diagnostics=(("main.bib", "expecting-eq"),)),
    Case("bib_field_missing_value", f"{DIAGNOSTICS}: test_bib_field_missing_value", "diagnostics", r"""
%! main.bib
@article{foo,
    field =
           !
}

%! main.tex
\bibliography{main}
\cite{foo}
""", diagnostics=(("main.bib", "expecting-value"),)),
    Case("citation_undefined", f"{DIAGNOSTICS}: test_citation_undefined", "diagnostics", r"""
%! main.tex
\cite{foo}
      ^^^
""", diagnostics=(("main.tex", "unknown-key"),)),
    Case("citation_undefined_ignore", f"{DIAGNOSTICS}: test_citation_undefined_ignore", "diagnostics", r"""
%! main.tex
% texlab: ignore
\cite{foo}
""", nothing=True),
    Case("citation_undefined_ignore_single_line", f"{DIAGNOSTICS}: test_citation_undefined_ignore_single_line",
         "diagnostics", r"""
%! main.tex
\cite{foo} % texlab: ignore
""", nothing=True),
    Case("citation_unused", f"{DIAGNOSTICS}: test_citation_unused", "diagnostics", r"""
%! main.bib
@article{foo,}
         ^^^
""", diagnostics=(("main.bib", "unused-entry"),), settings={"diagnostics": {"unusedEntry": "hint"}},
         ours="unused entries are hints we only give when `paperlens.diagnostics.unusedEntry` is \"hint\": a "
              "researcher's library is mostly entries one paper does not cite"),
]

# Cases from issue 14 itself (what the converted suite showed missing), in the same notation.
ISSUE_CASES: list[Case] = [
    Case("multi_line_key_list", f"{ISSUE}: a key list split across lines", "completion", r"""
%! main.tex
\bibliography{refs}
\cite{foo:2019,
  }
  |
  !
""" + FULL_AND_EMPTY_BIB, offered=("bar:2005",), not_offered=("foo:2019",)),
    Case("entry_without_title", f"{ISSUE}: an entry with author and year but no title", "completion", r"""
%! main.tex
\addbibresource{main.bib}
\cite{bar2005
             |
      ^^^^^^^

%! main.bib
@article{bar2005, author = {Xavier Yu}, year = 2005}
""", offered=("bar2005",)),
    Case("online_with_url_only", f"{ISSUE}: an @online entry with only a URL", "completion", r"""
%! main.tex
\addbibresource{main.bib}
\parencite[see][p.~2]{web
                         |
                      ^^^

%! main.bib
@online{website2020, url = {https://example.org}}
""", offered=("website2020",)),
    Case("cite_forms", f"{ISSUE}: \\cites multi-cite, second group", "completion", r"""
%! main.tex
\addbibresource{main.bib}
\cites[see][]{one}[p.~4]{t
                          |
                         ^

%! main.bib
@misc{one,}
@misc{two,}
""", offered=("two",)),
    Case("duplicate_keys", f"{ISSUE}: duplicate keys in a .bib", "diagnostics", r"""
%! main.bib
@article{foo, title = {A}}
@article{foo, title = {B}}
         ^^^
""", diagnostics=(("main.bib", "duplicate-key"),)),
    Case("ignore_markdown", f"{ISSUE}: silence one line in Markdown", "diagnostics", r"""
%! main.md
Known to fail [@nosuchkey]. <!-- paperlens: ignore -->

<!-- paperlens: ignore -->
As @alsonokey shows.

But @realmiss is flagged.
     ^^^^^^^^
""", diagnostics=(("main.md", "unknown-key"),)),
    Case("ignore_latex_paperlens", f"{ISSUE}: silence one line in LaTeX", "diagnostics", r"""
%! main.tex
\cite{nokey} % paperlens: ignore
A comment silences its own line and the next one (as texlab's does).
\cite{other}
      ^^^^^
""", diagnostics=(("main.tex", "unknown-key"),)),
    Case("bibitem_defines_keys", f"{ISSUE}: thebibliography's \\bibitem keys are defined (as texlab counts them)",
         "diagnostics", r"""
%! main.tex
See \cite{knuth84} and \cite{nobody}.
                             ^^^^^^
\begin{thebibliography}{9}
\bibitem[Knuth(1984)]{knuth84} D. Knuth. The TeXbook.
\end{thebibliography}
""", diagnostics=(("main.tex", "unknown-key"),)),
    Case("pandoc_bibliography_definition", f"{ISSUE}: pandoc `bibliography:` chooses the .bib", "definition", r"""
%! paper.md
---
title: A paper
bibliography:
  - second.bib
---
As @foo shows.
     |
    ^^^

%! first.bib
@article{foo, title = {First}}

%! second.bib
@article{foo, title = {Second}}
         ^^^
^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
""", target="second.bib"),
    Case("pandoc_references_include_decl", f"{ISSUE}: references from Markdown, with the declaration",
         "references", r"""
%! paper.md
---
bibliography: [refs.bib]
---
As @foo shows [@foo; @bar].
     |
    ^^^
                ^^^

%! refs.bib
@misc{foo, title = {Foo}}
      ^^^
@misc{bar, title = {Bar}}

%! other.bib
@misc{foo, title = {Another foo}}
""", include_declaration=True),
    Case("key_in_a_bib_not_loaded", f"{TEXLAB_OLD} (its scoping) and texlab's undefined citations: a key found "
         "only in a .bib the document does not load", "diagnostics", r"""
%! foo.tex
\addbibresource{bar.bib}
\cite{foo} and \cite{bar}
                     ^^^

%! bar.bib
@article{foo,}

%! baz.bib
@article{bar,}
""", diagnostics=(("foo.tex", "unknown-key"),)),
    Case("entry_in_a_bib_not_loaded", f"{TEXLAB_OLD}: test_empty, with titled entries", "completion", r"""
%! foo.tex
\addbibresource{bar.bib}
\cite{}
      |

%! bar.bib
@article{foo, title = {Foo}}

%! baz.bib
@article{bar, title = {Bar}}
""", offered=("foo",), not_offered=("bar",)),
]
