"""GitHub harvesting: pure parsers as tables, fetch_repo against the loopback fixture server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperlens.core.text import norm_name
from paperlens.sources.github import (
    best_entry,
    decode_content,
    fetch_repo,
    name_keys,
    parse_readme,
    pick_class_files,
    top_level_classes,
    tree_identifiers,
)
from paperlens.sources.http import HttpClient
from support.fixture_server import FixtureServer, load_fixture_repos, synthesize_source

FIXTURE_REPOS = sorted(r.meta()["full_name"] for r in load_fixture_repos().values())


@pytest.fixture
def http(tmp_path: Path) -> Iterator[HttpClient]:
    with HttpClient(cache_dir=tmp_path, backoff_base=0.001, retries=1, timeout=2.0) as client:
        yield client


# -- README parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("see https://arxiv.org/abs/2404.00722v2 and https://arxiv.org/pdf/2510.04910", ["2404.00722", "2510.04910"]),
        ('<img src="https://img.shields.io/badge/Paper-arXiv:2406.02657-Green">', ["2406.02657"]),
        ("journal={arXiv preprint arXiv:2510.04910}", ["2510.04910"]),
        ("eprint = {2412.03409},", ["2412.03409"]),
        ("version 2024.1234 and 10.1145/3292500.3330701 are not arXiv ids", []),
    ],
)
def test_readme_arxiv_ids(text: str, ids: list[str]) -> None:
    assert parse_readme(text)[0] == ids


def test_readme_bibtex_indented_google_scholar_and_arxiv_export() -> None:
    readme = """# X
Thanks @someone for the help!

#### BibTeX
    @misc{hsu2024drct,
      title={DRCT: Saving {Image} Super-resolution},
      author = {Hsu, Chih-Chung and Lee, Chia-Ming and Chou, Yi-Shiuan},
      eprint={2404.00722},
      archivePrefix={arXiv},
    }
    @InProceedings{Hsu_2024_CVPR,
      author    = {Hsu, Chih-Chung and Lee, Chia-Ming},
      title     = {DRCT (CVPR)},
    }
Related: https://arxiv.org/abs/1111.22222
"""
    ids, entries = parse_readme(readme)
    assert ids == ["2404.00722", "1111.22222"]
    assert [e.bib_key for e in entries] == ["hsu2024drct", "Hsu_2024_CVPR"]
    best = best_entry(entries)
    assert best is not None and best.arxiv_id == "2404.00722"
    assert best.title == "DRCT: Saving Image Super-resolution"
    assert best.authors == ("Chih-Chung Hsu", "Chia-Ming Lee", "Yi-Shiuan Chou")


def test_readme_best_entry_is_first_without_arxiv() -> None:
    readme = "```bibtex\n@inproceedings{a, title={First}, author={A. One}}\n@article{b, title={Second}}\n```"
    best = best_entry(parse_readme(readme)[1])
    assert best is not None and best.title == "First" and best.authors == ("A. One",)


def test_readme_unterminated_bibtex_is_ignored() -> None:
    assert parse_readme("@misc{broken, title={no end")[1] == []


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("Hsu, Chih-Chung and Lee, Chia-Ming", ("Chih-Chung Hsu", "Chia-Ming Lee")),
        ("Ao Wang and Hui Chen", ("Ao Wang", "Hui Chen")),
        ("Yu, Philip S and others", ("Philip S Yu",)),
        ('{Barnes and Noble} and M{\\"u}ller, Hans', ("Barnes and Noble", "Hans Müller")),
        ("", ()),
    ],
)
def test_readme_author_names(field: str, names: tuple[str, ...]) -> None:
    (entry,) = parse_readme(f"```bibtex\n@misc{{k, title={{T}}, author={{{field}}}}}\n```")[1]
    assert entry.authors == names


def test_decode_content_base64_json() -> None:
    body = json.dumps({"encoding": "base64", "content": "aGVs\nbG8=\n"})
    assert decode_content(body) == "hello"
    assert decode_content("# plain") == "# plain"
    assert decode_content('{"not": "content"}') == '{"not": "content"}'


# -- identifiers --------------------------------------------------------------------------------------------


def test_name_keys() -> None:
    assert name_keys(["NeurIPS-25-Glocal-IB"]) == ["neurips25glocalib", "glocalib"]
    assert "csib" in name_keys(["Cauchy-Schwarz-Information-Bottleneck"])
    assert name_keys(["models", "IB"]) == []  # generic or too short to match on


@pytest.mark.parametrize(
    ("paths", "names", "expected"),
    [
        (
            ["drct/__init__.py", "drct/archs/DRCT_arch.py", "drct/archs/__init__.py", "drct/models/drct_model.py",
             "drct/test.py", "drct/train.py", "setup.py", "utils/misc.py", "README.md"],
            ["DRCT"],
            ["drct", "DRCT_arch", "drct_model"],
        ),
        (["llava/model/llava_arch.py", "prefixkv.py", "eval_ppl.py"], ["PrefixKV"], ["prefixkv"]),
        (["tests/test_foo.py", "foo/test_foo.py", "foo/foo_ops.py"], ["foo"], ["foo", "foo_ops"]),
        (["foo/other.ipynb", "foo.ipynb", "configs/foo.yaml", "weird name.py"], ["foo"], []),
        (["otherModel/TimesNet/model.py", "Glocal_IB/Glocal_IB.py"], ["NeurIPS-25-Glocal-IB"], ["Glocal_IB"]),
        (["abstract/extract.py", "stra/x_stra.py"], ["stra"], ["stra", "x_stra"]),  # short keys: whole words
    ],
)
def test_tree_identifiers(paths: list[str], names: list[str], expected: list[str]) -> None:
    assert tree_identifiers(paths, names) == expected


def test_tree_identifiers_capped() -> None:
    paths = [f"foo/foo_{i}.py" for i in range(500)]
    assert len(tree_identifiers(paths, ["foo"])) == 200


def test_pick_class_files_prefers_named_arch_files() -> None:
    paths = ["drct/archs/DRCT_arch.py", "drct/archs/srvgg_arch.py", "drct/models/drct_model.py",
             "REAL_DRCT_GAN_ONNX inference_fp16.py", "drct/test_drct.py", "predict.py"]
    assert pick_class_files(paths, ["DRCT"]) == ["drct/archs/DRCT_arch.py", "drct/models/drct_model.py"]
    assert pick_class_files(paths, ["nothing-here"]) == []


def test_top_level_classes() -> None:
    src = "class A:\n    class Inner: pass\n\ndef f():\n    class Local: pass\n\nclass B(A):\n    pass\n"
    assert top_level_classes(src) == ["A", "B"]
    assert top_level_classes("class Ok(nn.Module):\n  x = (\nclass Two:\n") == ["Ok", "Two"]  # regex fallback


# -- fetch_repo against the loopback server -----------------------------------------------------------------


@pytest.mark.parametrize("full_name", FIXTURE_REPOS)
def test_fetch_repo_metadata(full_name: str, fixture_server: FixtureServer, http: HttpClient) -> None:
    meta = fixture_server.repos[full_name.lower()].meta()
    repo = fetch_repo(http, full_name.lower(), fixture_server.base_url)
    assert repo is not None
    assert repo.full_name == full_name  # canonical casing from the response
    assert repo.default_branch == meta["default_branch"]
    assert repo.pushed_at == meta["pushed_at"]
    assert repo.language == meta["language"]
    assert repo.license == (meta["license"] or {}).get("spdx_id")
    assert repo.stars == 0 and repo.archived is False and repo.description is None
    # Every harvested class exists in the fixture's symbol listing; no generic names slip through.
    symbols = json.loads((fixture_server.repos[full_name.lower()].root / "symbols.json").read_text())
    classes = {s["name"] for syms in symbols.values() for s in syms if s["kind"] == "class"}
    modules = {p for path in symbols for p in path[:-3].split("/")}
    assert set(repo.identifiers) <= classes | modules
    assert not {"utils", "__init__", "setup", "main", "data", "models", "train", "test"} & set(repo.identifiers)


def test_fetch_repo_sends_github_headers(fixture_server: FixtureServer, http: HttpClient) -> None:
    fetch_repo(http, "ming053l/DRCT", fixture_server.base_url)
    reqs = fixture_server.requests
    assert all(r.headers.get("x-github-api-version") == "2022-11-28" for r in reqs)
    assert fixture_server.requests_to("/repos/ming053l/DRCT/readme")[0].headers["accept"].endswith("raw+json")
    tree = fixture_server.requests_to("/repos/ming053l/DRCT/git/trees/main")
    assert tree and tree[0].query == {"recursive": "1"}
    files = fixture_server.requests_to("/repos/ming053l/DRCT/contents/")
    assert 1 <= len(files) <= 3 and all(r.query == {"ref": "main"} for r in files)


def test_fetch_repo_drct(fixture_server: FixtureServer, http: HttpClient) -> None:
    repo = fetch_repo(http, "ming053l/DRCT", fixture_server.base_url)
    assert repo is not None
    assert repo.readme_arxiv_ids[0] == "2404.00722"
    assert repo.readme_authors == ("Chih-Chung Hsu", "Chia-Ming Lee", "Yi-Shiuan Chou")
    assert repo.readme_title == "DRCT: Saving Image Super-resolution away from Information Bottleneck"
    assert {"drct", "DRCT_arch", "DRCT"} <= set(repo.identifiers)
    assert repo.identifiers[:3] == ("drct", "DRCT_arch", "drct_model")
    assert "Mlp" not in repo.identifiers and "inference_DRCT_6" not in repo.identifiers


@pytest.mark.parametrize(
    ("full_name", "method_names", "must"),
    [
        ("Muyiiiii/NeurIPS-25-Glocal-IB", (), {"Glocal_IB"}),
        ("THU-MIG/PrefixKV", (), {"prefixkv", "PrefixKV"}),
        ("itsnamgyu/block-transformer", (), {"block_transformer", "BlockTransformer"}),
        ("SJYuCNEL/Cauchy-Schwarz-Information-Bottleneck", ("CS-IB",), {"CS_IB_Housing", "CS_IB_network"}),
    ],
)
def test_fetch_repo_identifiers(
    full_name: str, method_names: tuple[str, ...], must: set[str], fixture_server: FixtureServer, http: HttpClient
) -> None:
    repo = fetch_repo(http, full_name, fixture_server.base_url, method_names)
    assert repo is not None and must <= set(repo.identifiers)
    # Vendored code (llava, lm_eval, otherModel/...) names other papers' methods.
    assert not {"llava", "lm_eval", "TimesNet", "SAITS", "otherModel"} & set(repo.identifiers)


def test_fetch_repo_readme_base64_form(fixture_server: FixtureServer, http: HttpClient) -> None:
    url = f"{fixture_server.base_url}/repos/ming053l/DRCT/readme"
    wrapped = http.get_text(url, "readme", "application/vnd.github+json")
    assert wrapped is not None and wrapped.startswith("{")
    assert decode_content(wrapped).startswith("# DRCT")


def test_fetch_repo_unknown_or_invalid(fixture_server: FixtureServer, http: HttpClient) -> None:
    assert fetch_repo(http, "nobody/nothing", fixture_server.base_url) is None
    assert fetch_repo(http, "../etc/passwd", fixture_server.base_url) is None
    assert fixture_server.requests_to("/repos/nobody") and len(fixture_server.requests) == 1


def test_fetch_repo_survives_missing_readme_and_tree(fixture_server: FixtureServer, http: HttpClient) -> None:
    fixture_server.hf_routes["/repos/ming053l/DRCT/readme"] = (404, {"message": "Not Found"})
    fixture_server.hf_routes["/repos/ming053l/DRCT/git/trees/main"] = (500, {"message": "boom"})
    repo = fetch_repo(http, "ming053l/DRCT", fixture_server.base_url)
    assert repo is not None and repo.license == "MIT"
    assert repo.readme_arxiv_ids == () and repo.identifiers == ()


def test_fetch_repo_offline_from_cache(fixture_server: FixtureServer, tmp_path: Path) -> None:
    with HttpClient(cache_dir=tmp_path) as online:
        fresh = fetch_repo(online, "ming053l/DRCT", fixture_server.base_url)
    fixture_server.clear_requests()
    with HttpClient(cache_dir=tmp_path, offline=True) as offline:
        cached = fetch_repo(offline, "ming053l/DRCT", fixture_server.base_url)
    assert cached == fresh and fixture_server.requests == []


def test_synthesized_sources_parse(fixture_server: FixtureServer) -> None:
    for repo in fixture_server.repos.values():
        for path, syms in repo.symbols().items():
            names = [s["name"] for s in syms if s["kind"] == "class"]
            assert top_level_classes(synthesize_source(syms)) == list(dict.fromkeys(names)), path


def test_norm_name_is_what_keys_use() -> None:
    assert norm_name("Glocal_IB") in name_keys(["Glocal-IB"])
