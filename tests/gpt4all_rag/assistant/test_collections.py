"""Collections: named document folders with their own indexes, asked alone or together.

On the fakes (hash embedder, scripted model) and a real embedded Chroma per collection.
The two collections hold a file of the same name, ``notes.txt``, with different text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gpt4all_rag.answer import Source
from gpt4all_rag.assistant.several import CollectionSet, MultiRetriever
from gpt4all_rag.assistant.single import DocumentAssistant
from gpt4all_rag.cli.main import main
from gpt4all_rag.index.registry import (
    DEFAULT_COLLECTION,
    CollectionError,
    CollectionExists,
    CollectionNotFound,
    CollectionRegistry,
    resolve_collection,
)
from gpt4all_rag.settings import Settings
from gpt4all_rag.testing import fake_settings
from tests.helpers.cli import fakes
from vectorstore.passage import Passage
from vectorstore.retriever import Filters
from vectorstore.schema import ChunkMetadata, SearchMode

ALPHA_TEXT = "The reactor coolant is blue and flows at nine litres a second."
BETA_TEXT = "The garden tulips are red and bloom in the second week of April."
BOTH = "reactor coolant garden tulips"
REPLY = "The coolant is blue [1] and the tulips are red [2]."


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """Two documents folders, each with its own notes.txt, and the default one."""
    made = {}
    for name, text in (("alpha", ALPHA_TEXT), ("beta", BETA_TEXT), ("docs", "Default notes.")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "notes.txt").write_text(text + "\n", encoding="utf-8")
        made[name] = folder
    return made


@pytest.fixture
def settings(tmp_path: Path, folders: dict[str, Path]) -> Settings:
    """The default collection in tmp_path (docs/, index/), on the fakes."""
    return fake_settings(
        folders["docs"], tmp_path / "index", scripted_replies=[REPLY], relevance_floor=0.0
    )


@pytest.fixture
def registry(settings: Settings, folders: dict[str, Path]) -> CollectionRegistry:
    """alpha and beta registered beside the default index."""
    registry = CollectionRegistry.for_settings(settings)
    registry.add("alpha", folders["alpha"])
    registry.add("beta", folders["beta"])
    return registry


@pytest.fixture
def indexed(settings: Settings, registry: CollectionRegistry) -> dict[str, DocumentAssistant]:
    """alpha and beta, each ingested into its own index."""
    assistants = {}
    for name in ("alpha", "beta"):
        assistant = DocumentAssistant.for_collection(name, settings)
        assert assistant.ingest().added == ["notes.txt"]
        assistants[name] = assistant
    return assistants


# --- the registry ---------------------------------------------------------------------


def test_the_registry_lives_beside_the_default_index(
    tmp_path: Path, registry: CollectionRegistry, folders: dict[str, Path]
) -> None:
    assert registry.data_dir == tmp_path
    assert [c.name for c in registry.all()] == ["default", "alpha", "beta"]
    assert registry.get("beta").index_dir == tmp_path / "collections" / "beta" / "index"
    saved = json.loads((tmp_path / "collections.json").read_text(encoding="utf-8"))
    assert saved == {
        "collections": {
            "alpha": {"documents_dir": str(folders["alpha"])},
            "beta": {"documents_dir": str(folders["beta"])},
        }
    }


def test_names_folders_and_duplicates_are_checked(
    registry: CollectionRegistry, folders: dict[str, Path], tmp_path: Path
) -> None:
    for bad in ("Work", "a b", "-x", "x-", "../up", "", "x" * 41):
        with pytest.raises(CollectionError, match="bad collection name"):
            registry.add(bad, folders["alpha"])
    with pytest.raises(CollectionError, match="'default' is the settings' own folder"):
        registry.add(DEFAULT_COLLECTION, folders["alpha"])
    with pytest.raises(CollectionExists, match="'alpha' exists"):
        registry.add("alpha", folders["beta"])
    with pytest.raises(CollectionError, match="is not a folder"):
        registry.add("gamma", tmp_path / "missing")
    with pytest.raises(CollectionNotFound, match="known: default, alpha, beta"):
        registry.get("gamma")
    assert registry.names() == ["default", "alpha", "beta"]


def test_the_default_collection_is_the_settings_unchanged(settings: Settings) -> None:
    assert resolve_collection(settings) is settings
    assistant = DocumentAssistant.for_collection(DEFAULT_COLLECTION, settings)
    assert assistant.settings.index_dir == settings.index_dir
    assert assistant.settings.documents_dir == settings.documents_dir
    assert assistant.ingest().added == ["notes.txt"]
    source = assistant.search("default notes", k=1)[0]
    assert (source.collection, source.label) == (None, "notes.txt")
    assert set(source.to_json()) == {"file", "page", "text", "score"}


def test_a_named_collection_gets_its_folders_and_its_own_chroma_collection(
    settings: Settings, registry: CollectionRegistry, folders: dict[str, Path]
) -> None:
    resolved = resolve_collection(settings.model_copy(update={"collection": "beta"}))
    assert resolved.documents_dir == folders["beta"]
    assert resolved.index_dir == registry.data_dir / "collections" / "beta" / "index"
    assert resolved.collection_name == "documents-beta"
    assert resolve_collection(resolved) is resolved  # resolving twice changes nothing
    alpha = resolve_collection(resolved.model_copy(update={"collection": "alpha"}))
    assert (alpha.documents_dir, alpha.collection_name) == (folders["alpha"], "documents-alpha")
    with pytest.raises(CollectionError, match="resolved for collection 'beta'"):
        resolve_collection(resolved.model_copy(update={"collection": DEFAULT_COLLECTION}))
    with pytest.raises(CollectionNotFound):
        DocumentAssistant.for_collection("gamma", settings)


# --- two collections, one file name ---------------------------------------------------------


def test_two_collections_with_the_same_file_name_stay_apart(
    indexed: dict[str, DocumentAssistant],
) -> None:
    alpha, beta = indexed["alpha"], indexed["beta"]
    assert [(d.path, d.collection) for d in alpha.documents()] == [("notes.txt", "alpha")]
    assert [(d.path, d.collection) for d in beta.documents()] == [("notes.txt", "beta")]
    assert [s.text for s in alpha.search(BOTH, k=5)] == [ALPHA_TEXT]
    assert [s.text for s in beta.search(BOTH, k=5)] == [BETA_TEXT]


def test_deleting_from_one_collection_never_touches_the_other(
    indexed: dict[str, DocumentAssistant], folders: dict[str, Path]
) -> None:
    alpha, beta = indexed["alpha"], indexed["beta"]
    assert alpha.remove_document("notes.txt") == 1
    assert not (folders["alpha"] / "notes.txt").exists()
    assert alpha.documents() == [] and alpha.search(BOTH) == []
    assert (folders["beta"] / "notes.txt").read_text(encoding="utf-8") == BETA_TEXT + "\n"
    assert [d.path for d in beta.documents()] == ["notes.txt"]
    assert [s.text for s in beta.search(BOTH)] == [BETA_TEXT]
    alpha.reset()
    assert [s.text for s in beta.search(BOTH)] == [BETA_TEXT]


def test_removing_a_collection_deletes_its_index_only(
    indexed: dict[str, DocumentAssistant],
    registry: CollectionRegistry,
    folders: dict[str, Path],
    settings: Settings,
) -> None:
    alpha_index = registry.get("alpha").index_dir
    assert alpha_index.is_dir()
    del indexed["alpha"]  # the store closes with its assistant
    removed = registry.remove("alpha")
    assert removed.documents_dir == folders["alpha"]
    assert not alpha_index.parent.exists()
    assert (folders["alpha"] / "notes.txt").read_text(encoding="utf-8") == ALPHA_TEXT + "\n"
    assert registry.names() == ["default", "beta"]
    assert [s.text for s in indexed["beta"].search(BOTH)] == [BETA_TEXT]
    with pytest.raises(CollectionError, match="reset --yes"):
        registry.remove(DEFAULT_COLLECTION)


# --- asking across collections ----------------------------------------------------------


def test_asking_across_both_cites_a_file_from_each(
    indexed: dict[str, DocumentAssistant], settings: Settings
) -> None:
    together = CollectionSet.open(["alpha", "beta"], settings)
    answer = together.ask(BOTH)
    assert sorted((s.collection, s.file) for s in answer.cited_sources) == [
        ("alpha", "notes.txt"),
        ("beta", "notes.txt"),
    ]
    assert sorted(s.label for s in answer.sources) == ["[alpha] notes.txt", "[beta] notes.txt"]
    assert {s.to_json()["collection"] for s in answer.sources} == {"alpha", "beta"}
    assert sorted(s.text for s in together.search(BOTH, k=5)) == sorted([ALPHA_TEXT, BETA_TEXT])


def test_a_set_shares_one_embedder_and_lists_every_collection(
    indexed: dict[str, DocumentAssistant], settings: Settings
) -> None:
    together = CollectionSet.open(["beta", "alpha", "beta"], settings)
    assert together.names == ["beta", "alpha"]
    first, second = together.assistants.values()
    assert second.embedder is first.embedder
    assert [(d.collection, d.path) for d in together.documents()] == [
        ("beta", "notes.txt"),
        ("alpha", "notes.txt"),
    ]
    assert together.failures() == []
    with pytest.raises(CollectionError, match="at least one"):
        CollectionSet({})


class _Ranked:
    """A searcher that returns fixed passages, best first (the fusion under test is real)."""

    def __init__(self, *ids: str, similarity: float = 0.5) -> None:
        self.passages = [
            Passage(i, f"text {i}", ChunkMetadata(path=f"{i}.txt"), 1.0, similarity) for i in ids
        ]

    def search(
        self, query: str, k: int = 5, mode: SearchMode = "hybrid", filters: Filters | None = None
    ) -> list[Passage]:
        return self.passages[:k]


def test_fusion_interleaves_collections_by_rank_and_keeps_equal_ids_apart() -> None:
    fused = MultiRetriever(
        {"a": _Ranked("x", "y", "z"), "b": _Ranked("x", "w", similarity=0.9)}
    ).search("q", k=4)
    # Rank 1 in both ties on the fused score: the closer passage (b's) first.
    assert [(p.metadata["collection"], p.id) for p in fused] == [
        ("b", "x"),
        ("a", "x"),
        ("b", "w"),
        ("a", "y"),
    ]
    assert fused[0].score == pytest.approx(1 / 61)
    assert Source.from_passage(1, fused[0]).label == "[b] x.txt"


# --- the command line ---------------------------------------------------------------------


_fakes = fakes(REPLY, floor=0.0)


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Run:
    """``main`` in process on the fakes, with the default index in tmp_path."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--index", str(tmp_path / "index")], assistant_factory=_fakes)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_collections_end_to_end(cli: Run, folders: dict[str, Path], tmp_path: Path) -> None:
    assert cli("collections", "add", "alpha", str(folders["alpha"]))[0] == 0
    code, out, err = cli("collections", "add", "beta", str(folders["beta"]), "--json")
    assert (code, json.loads(out)["index_dir"]) == (0, str(tmp_path / "collections/beta/index"))
    code, out, _ = cli("collections", "list", "--json")
    assert [c["name"] for c in json.loads(out)["collections"]] == ["default", "alpha", "beta"]

    for name in ("alpha", "beta"):
        code, out, err = cli("ingest", "--collection", name, "--json")
        assert (code, json.loads(out)["added"]) == (0, ["notes.txt"]), err
    code, out, _ = cli("status", "--collection", "beta", "--json")
    status = json.loads(out)
    assert (status["documents_dir"], status["files"]) == (str(folders["beta"]), 1)

    code, out, _ = cli("search", BOTH, "--collection", "alpha", "--json")
    assert [(r["collection"], r["text"]) for r in json.loads(out)["results"]] == [
        ("alpha", ALPHA_TEXT)
    ]
    code, out, _ = cli("search", BOTH, "--collection", "alpha,beta", "--json")
    assert sorted(r["collection"] for r in json.loads(out)["results"]) == ["alpha", "beta"]
    code, out, _ = cli("ask", BOTH, "--collection", "alpha", "--collection", "beta", "--json")
    answer = json.loads(out)
    assert sorted(answer["sources"][n - 1]["collection"] for n in answer["cited"]) == [
        "alpha",
        "beta",
    ]

    code, out, err = cli("collections", "remove", "alpha")
    assert (code, "--yes" in err) == (2, True)
    assert cli("collections", "remove", "alpha", "--yes")[0] == 0
    assert (folders["alpha"] / "notes.txt").is_file()
    code, _, err = cli("search", BOTH, "--collection", "alpha")
    assert (code, "no collection named 'alpha'" in err) == (2, True)


def test_cli_without_collection_is_the_default_index(
    cli: Run, folders: dict[str, Path], tmp_path: Path
) -> None:
    code, out, _ = cli("ingest", str(folders["docs"]), "--json")
    assert (code, json.loads(out)["added"]) == (0, ["notes.txt"])
    assert (tmp_path / "index" / "manifest.sqlite3").is_file()
    code, out, _ = cli("search", "default notes", "--json")
    assert [set(r) for r in json.loads(out)["results"]] == [{"file", "page", "text", "score"}]


def test_cli_refuses_what_a_collection_cannot_do(cli: Run, folders: dict[str, Path]) -> None:
    cli("collections", "add", "alpha", str(folders["alpha"]))
    code, _, err = cli("ingest", "--collection", "alpha,beta")
    assert (code, "ingest takes one --collection" in err) == (2, True)
    code, _, err = cli("ingest", str(folders["beta"]), "--collection", "alpha")
    assert (code, "collection 'alpha' indexes" in err) == (2, True)
    code, _, err = cli("collections", "add", "Bad Name", str(folders["beta"]))
    assert (code, "bad collection name" in err) == (2, True)
    code, _, err = cli("status", "--collection", "Bad Name")
    assert code == 2 and "collection" in err
