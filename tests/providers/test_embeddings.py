"""Embedders: the offline hash embedder, and the HTTP embedders against a real local server."""

from __future__ import annotations

import base64
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from apps.providers.embeddings import (
    _FEW,
    HashEmbedder,
    OllamaEmbedder,
    OpenAIEmbedder,
    SentenceTransformersEmbedder,
    build_embedder,
)
from apps.providers.errors import ProviderError, ProviderResponseError, ProviderUnavailable
from tests.providers.model_server import Behaviour, ModelServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]

TEXTS = [
    "forklift operator in Columbus, OH. Skills: pallet jack, rf scanner. Shifts: night.",
    "Line cook — café in São Paulo? No: Columbus, OH. Certifications: ServSafe.",
    "cna night shift",
    "",
]


# --- hash embedder ----------------------------------------------------------------------------------


def test_hash_shape_dtype_and_unit_norm() -> None:
    vectors = HashEmbedder(dim=768).embed(TEXTS)

    assert vectors.shape == (4, 768)
    assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-6)
    assert not vectors[3].any()  # empty text: the zero vector, not NaN
    assert HashEmbedder(dim=64).embed([]).shape == (0, 64)


def test_hash_key_names_provider_model_and_dim() -> None:
    assert HashEmbedder(dim=768).key == "hash/hash-v1/768"
    assert HashEmbedder(dim=384).key == "hash/hash-v1/384"


def test_hash_vector_does_not_depend_on_the_batch() -> None:
    # A few texts (queries) take the per-text path over memoized feature hashes, a batch the sparse
    # path: both must give the same bytes, profiles with their weighted head sentence included.
    embedder = HashEmbedder(dim=256)
    batch = ["welder in Reno, NV", *TEXTS, "forklfit opertor", "Café CNA in SÃO PAULO, night night night"]
    assert len(batch) > _FEW
    in_batch = embedder.embed(batch)
    for i, text in enumerate(batch):
        assert embedder.embed([text])[0].tobytes() == in_batch[i].tobytes(), text
    assert embedder.embed(batch[:_FEW]).tobytes() == in_batch[:_FEW].tobytes()


def test_hash_memo_stays_bounded_and_right_when_it_empties() -> None:
    embedder = HashEmbedder(dim=256)
    embedder._word_memo.limit = embedder._char_memo.limit = 5
    expected = embedder.embed(TEXTS * 2)[: len(TEXTS)]  # the batch path, no memo
    for _ in range(2):
        assert embedder.embed(TEXTS).tobytes() == expected.tobytes()
    assert len(embedder._word_memo) <= 5 and len(embedder._char_memo) <= 5


def test_hash_is_deterministic_across_processes() -> None:
    here = HashEmbedder(dim=768).embed(TEXTS).tobytes()
    script = (
        "import base64, sys\n"
        "from apps.providers.embeddings import HashEmbedder\n"
        f"texts = {TEXTS!r}\n"
        "sys.stdout.write(base64.b64encode(HashEmbedder(dim=768).embed(texts).tobytes()).decode())\n"
    )
    for hash_seed in ("1", "4242"):  # Python's str hash differs per seed; the vectors must not
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True,
            check=True, timeout=120,
        )
        assert base64.b64decode(done.stdout) == here


def test_hash_output_is_pinned() -> None:
    """If this fails the algorithm changed: bump HashEmbedder.model so caches and stored
    `embedding_model` values stop matching, then update the expected values."""
    vector = HashEmbedder(dim=768).embed(["Forklift operator in Columbus, OH. Skills: pallet jack. Shifts: night."])[0]
    nonzero = np.flatnonzero(vector)
    assert len(nonzero) == 101
    assert nonzero[:4].tolist() == [0, 3, 6, 8]
    np.testing.assert_allclose(vector[[0, 3, 6, 8]], [0.08279696, 0.03945319, -0.03945319, -0.08279696], atol=1e-6)


def test_hash_equals_the_plain_sklearn_pipeline() -> None:
    """The batched fast path must compute what two plain hashing vectorizers compute per text."""
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.feature_extraction.text import HashingVectorizer

    from apps.providers.embeddings import _weighted_token_runs

    dim = 128
    words_hasher = FeatureHasher(n_features=dim, input_type="string")
    chars_hasher = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=dim, norm=None, lowercase=False)

    def reference(text: str) -> np.ndarray:
        word_features, char_words = [], []
        for tokens, weight in _weighted_token_runs(text, HashEmbedder.HEAD_WEIGHT):
            repeat = int(weight)  # weights are whole numbers: repeating is the same as weighting
            word_features += (tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]) * repeat
            char_words += tokens * repeat
        mixed = np.zeros(dim)
        for block, share in (
            (words_hasher.transform([word_features]).toarray()[0], HashEmbedder.WORD_BLOCK_WEIGHT),
            (chars_hasher.transform([" ".join(char_words)]).toarray()[0], 1 - HashEmbedder.WORD_BLOCK_WEIGHT),
        ):
            nonzero = block != 0
            block[nonzero] = np.sign(block[nonzero]) * (1 + np.log(np.abs(block[nonzero])))
            mixed += share * block / np.linalg.norm(block)
        return mixed / np.linalg.norm(mixed)

    texts = TEXTS[:3] + ["welder welder welder in Reno, NV. Skills: mig welding, tig welding. Bio: welder."]
    np.testing.assert_allclose(HashEmbedder(dim=dim).embed(texts), [reference(t) for t in texts], atol=1e-6)


def test_hash_is_accent_and_case_insensitive() -> None:
    embedder = HashEmbedder(dim=256)
    a, b = embedder.embed(["Café CNA in SÃO PAULO", "cafe cna in sao paulo"])
    assert a.tobytes() == b.tobytes()


# --- HTTP embedders ---------------------------------------------------------------------------------


def test_ollama_embedder_batches_and_returns_server_vectors(model_server: ModelServer) -> None:
    embedder = OllamaEmbedder(model_server.url, model="nomic-embed-text", dim=8, batch_size=2)
    texts = ["a", "b", "c", "d", "e"]

    vectors = embedder.embed(texts)

    assert vectors.dtype == np.float32 and vectors.shape == (5, 8)
    np.testing.assert_allclose(vectors, [ModelServer.vector_for(t, 8) for t in texts], rtol=1e-6)
    requests = model_server.requests
    assert [r.path for r in requests] == ["/api/embed"] * 3
    assert [r.json["input"] for r in requests] == [["a", "b"], ["c", "d"], ["e"]]
    assert {r.json["model"] for r in requests} == {"nomic-embed-text"}
    assert embedder.key == "ollama/nomic-embed-text/8"


def test_ollama_embedder_rejects_wrong_dimension(model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.wrong_dim(5))
    embedder = OllamaEmbedder(model_server.url, dim=8)

    with pytest.raises(ProviderResponseError, match="5-dimensional embeddings, expected 8"):
        embedder.embed(["a"])


def test_ollama_embedder_500_retries_then_unavailable(model_server: ModelServer) -> None:
    model_server.enqueue(*[Behaviour.status(500, "llama runner process has terminated")] * 3)
    embedder = OllamaEmbedder(model_server.url, dim=8, retries=2, backoff_s=0.01)

    with pytest.raises(ProviderUnavailable) as raised:
        embedder.embed(["a"])

    assert len(model_server.requests) == 3
    assert "/api/embed" in str(raised.value) and "llama runner process has terminated" in str(raised.value)


def test_ollama_embedder_timeout_is_unavailable(model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.slow(2.0))
    embedder = OllamaEmbedder(model_server.url, dim=8, timeout=0.2, retries=0)

    with pytest.raises(ProviderUnavailable, match="timed out"):
        embedder.embed(["a"])


def test_ollama_embedder_server_down_is_unavailable() -> None:
    server = ModelServer(dim=8).start()
    url = server.url
    server.stop()
    embedder = OllamaEmbedder(url, dim=8, retries=1, backoff_s=0.01)

    with pytest.raises(ProviderUnavailable, match="ConnectError"):
        embedder.embed(["a"])


def test_openai_embedder_sorts_by_index_and_sends_key() -> None:
    with ModelServer(dim=8, api_key="sk-test-123") as server:
        embedder = OpenAIEmbedder(f"{server.url}/v1/", api_key="sk-test-123", model="embed-small", dim=8, batch_size=3)
        texts = ["w", "x", "y", "z"]

        vectors = embedder.embed(texts)

        # The server answers in reverse index order; the embedder must restore input order.
        np.testing.assert_allclose(vectors, [ModelServer.vector_for(t, 8) for t in texts], rtol=1e-6)
        requests = server.requests
        assert [r.path for r in requests] == ["/v1/embeddings"] * 2
        assert [r.json for r in requests] == [
            {"model": "embed-small", "input": ["w", "x", "y"]},
            {"model": "embed-small", "input": ["z"]},
        ]
        assert {r.headers["authorization"] for r in requests} == {"Bearer sk-test-123"}
        assert "sk-test-123" not in repr(embedder)


def test_openai_embedder_without_key_sends_no_auth_header(model_server: ModelServer) -> None:
    OpenAIEmbedder(model_server.url, dim=8).embed(["a"])
    assert "authorization" not in model_server.requests[0].headers


def test_openai_embedder_wrong_key_is_a_clear_error_without_the_key() -> None:
    with ModelServer(dim=8, api_key="sk-right") as server:
        embedder = OpenAIEmbedder(server.url, api_key="sk-wrong-and-secret", dim=8)
        with pytest.raises(ProviderError) as raised:
            embedder.embed(["a"])
    assert not isinstance(raised.value, ProviderUnavailable)
    assert "401" in str(raised.value) and "sk-wrong-and-secret" not in str(raised.value)


def test_openai_embedder_requests_dimensions_only_when_asked(model_server: ModelServer) -> None:
    OpenAIEmbedder(model_server.url, dim=8, request_dimensions=True).embed(["a"])
    assert model_server.requests[0].json["dimensions"] == 8


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None,
    reason="sentence-transformers is installed here",
)
def test_sentence_transformers_missing_gives_install_hint() -> None:
    with pytest.raises(ProviderError, match="pip install sentence-transformers"):
        SentenceTransformersEmbedder()


# --- factory ----------------------------------------------------------------------------------------


def test_build_embedder_per_provider() -> None:
    hashed = build_embedder("hash", dim=768)
    assert isinstance(hashed, HashEmbedder) and hashed.key == "hash/hash-v1/768"

    ollama = build_embedder("ollama", dim=768, ollama_url="http://127.0.0.1:11434/")
    assert isinstance(ollama, OllamaEmbedder)
    assert ollama.key == "ollama/nomic-embed-text/768" and ollama.base_url == "http://127.0.0.1:11434"

    openai = build_embedder(
        "openai", dim=256, openai_base_url="https://models.example/v1", openai_api_key="sk-x", model="m"
    )
    assert isinstance(openai, OpenAIEmbedder)
    assert openai.key == "openai/m/256" and openai.base_url == "https://models.example"


def test_build_embedder_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="unknown embedding provider"):
        build_embedder("word2vec", dim=768)
    with pytest.raises(ValueError, match="OLLAMA_URL"):
        build_embedder("ollama", dim=768)
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        build_embedder("openai", dim=768)
    with pytest.raises(ValueError, match="http"):
        build_embedder("ollama", dim=768, ollama_url="localhost:11434")


def test_keys_differ_when_provider_model_or_dim_differ() -> None:
    keys = {
        HashEmbedder(dim=768).key,
        HashEmbedder(dim=384).key,
        OllamaEmbedder("http://h", dim=768).key,
        OllamaEmbedder("http://h", model="mxbai-embed-large", dim=768).key,
        OpenAIEmbedder("http://h", dim=768).key,
    }
    assert len(keys) == 5


@pytest.mark.semantic  # needs requirements-semantic.txt: `make test-semantic`, not `make test`
def test_the_packaged_minilm_loads_offline_and_knows_staffing_synonyms() -> None:
    embedder = SentenceTransformersEmbedder(dim=384)  # the default name resolves to the packaged model
    assert embedder.key == "sentence-transformers/sentence-transformers/all-MiniLM-L6-v2/384"
    query, custodian, forklift = embedder.embed(
        ["janitor", "custodian in Columbus, OH. Skills: floor care", "forklift operator in Columbus, OH. Skills: pallet jack"]
    )
    assert embedder.embed([]).shape == (0, 384)
    assert float(query @ custodian) > float(query @ forklift)


def test_packaged_model_path_is_none_for_unpackaged_names() -> None:
    from apps.providers.embeddings import packaged_model_path

    assert packaged_model_path("someone/else") is None


def test_signed_bucket_is_the_sklearn_hashers_bucket_and_sign() -> None:
    from sklearn.feature_extraction import FeatureHasher

    from apps.providers.embeddings import signed_bucket

    rng = np.random.default_rng(11)
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789- ") + ["é", "ß", "東", "🙂"]
    features = ["".join(rng.choice(alphabet, size=int(rng.integers(1, 12)))) for _ in range(500)]
    for dim in (128, 768):
        hashed = FeatureHasher(n_features=dim, input_type="string").transform([[f] for f in features])
        for row, feature in enumerate(features):
            assert signed_bucket(feature, dim) == (int(hashed.indices[row]), float(hashed.data[row])), feature
