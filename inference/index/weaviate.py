"""The Weaviate vector index (weaviate-client v4): one collection of self-provided vectors with
cosine distance. Metadata is kept as JSON and as `key=value` tags, so any metadata filter
becomes one `contains_all` filter without a schema per key."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from inference.errors import VectorIndexError, VectorIndexUnavailable
from inference.index import Hit, Item, Metadata, as_vector, check_id, check_metadata


def _tags(metadata: Metadata) -> list[str]:
    return [f"{k}={json.dumps(v)}" for k, v in sorted(metadata.items())]


class WeaviateIndex:
    """A `VectorIndex` in a Weaviate collection, reached at `url` (http://host:8080).

    The gRPC port defaults to 50051 on the same host. Close it when done (`close()` or `with`).
    """

    def __init__(self, url: str, collection: str = "ProctorDocuments", *, embedder: Any = None,
                 grpc_port: int = 50051, api_key: str | None = None) -> None:
        import weaviate
        from weaviate.classes.config import Configure, DataType, Property, VectorDistances

        self.embedder, self.name = embedder, collection
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise VectorIndexError(f"WEAVIATE_URL must look like http://host:8080, got {url!r}")
        secure = parsed.scheme == "https"
        try:
            self._client = weaviate.connect_to_custom(
                http_host=parsed.hostname, http_port=parsed.port or (443 if secure else 80),
                http_secure=secure, grpc_host=parsed.hostname, grpc_port=grpc_port,
                grpc_secure=secure, auth_credentials=api_key)
            if not self._client.collections.exists(collection):
                self._client.collections.create(
                    collection,
                    vector_config=Configure.Vectors.self_provided(
                        vector_index_config=Configure.VectorIndex.hnsw(
                            distance_metric=VectorDistances.COSINE)),
                    properties=[Property(name="doc_id", data_type=DataType.TEXT),
                                Property(name="meta", data_type=DataType.TEXT),
                                Property(name="tags", data_type=DataType.TEXT_ARRAY)])
            self._collection = self._client.collections.use(collection)
        except VectorIndexError:
            raise
        except Exception as exc:
            raise VectorIndexUnavailable(f"Weaviate at {url} cannot be used: {exc}") from exc
        self._dimension: int | None = None

    def add(self, id: str, item: Item, metadata: Metadata | None = None) -> None:
        from weaviate.util import generate_uuid5

        vector = as_vector(item, self.embedder, self._dimension)
        meta = check_metadata(metadata)
        props = {"doc_id": check_id(id), "meta": json.dumps(meta), "tags": _tags(meta)}
        uuid = generate_uuid5(id)
        with self._errors("add"):
            if self._collection.data.exists(uuid):
                self._collection.data.replace(uuid=uuid, properties=props,
                                              vector=vector.tolist())
            else:
                self._collection.data.insert(props, uuid=uuid, vector=vector.tolist())
        self._dimension = vector.size

    def search(self, query: Item, k: int = 5, filter: Metadata | None = None) -> list[Hit]:
        from weaviate.classes.query import Filter, MetadataQuery

        if k <= 0:
            return []
        vector = as_vector(query, self.embedder, self._dimension)
        where = (Filter.by_property("tags").contains_all(_tags(check_metadata(filter)))
                 if filter else None)
        with self._errors("search"):
            found = self._collection.query.near_vector(
                vector.tolist(), limit=k, filters=where,
                return_metadata=MetadataQuery(distance=True))
        return [Hit(id=o.properties["doc_id"], score=1.0 - float(o.metadata.distance),
                    metadata=json.loads(o.properties["meta"])) for o in found.objects]

    def delete(self, id: str) -> bool:
        from weaviate.util import generate_uuid5

        uuid = generate_uuid5(id)
        with self._errors("delete"):
            if not self._collection.data.exists(uuid):
                return False
            return bool(self._collection.data.delete_by_id(uuid))

    def count(self) -> int:
        with self._errors("count"):
            return int(self._collection.aggregate.over_all(total_count=True).total_count or 0)

    def drop(self) -> None:
        """Delete the whole collection (tests, re-indexing)."""
        with self._errors("drop"):
            self._client.collections.delete(self.name)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WeaviateIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _errors(self, what: str) -> Any:
        return _Translate(what, self.name)


class _Translate:
    """Turns weaviate-client errors into ours, at the edge."""

    def __init__(self, what: str, name: str) -> None:
        self.what, self.name = what, name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, VectorIndexError):
            return False
        from weaviate.exceptions import WeaviateConnectionError, WeaviateTimeoutError

        error = (VectorIndexUnavailable if isinstance(exc, WeaviateConnectionError |
                                                      WeaviateTimeoutError) else VectorIndexError)
        raise error(f"Weaviate {self.what} on {self.name} failed: {exc}") from exc
