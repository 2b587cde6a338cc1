"""Where attachment bytes live: a directory on local disk (the default, under the var
directory) or an S3-compatible object store (`PORTAL_S3_ENDPOINT`, `PORTAL_S3_BUCKET`, ...),
behind one small interface: put, get, delete, list_keys."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import urllib.parse
from pathlib import Path
from typing import Protocol
from xml.etree import ElementTree

from portal.errors import NotFound


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def delete(self, key: str) -> None: ...
    async def list_keys(self, prefix: str = "") -> list[tuple[str, dt.datetime]]: ...


def _safe_key(key: str) -> str:
    # Keys are made by attachments.attach (a month and a random token); refuse anything else.
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under one directory; written to a temporary name, synced, then renamed, so a
    reader never sees half a file."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise NotFound("Not found.") from None

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def list_keys(self, prefix: str = "") -> list[tuple[str, dt.datetime]]:
        """The keys under `prefix` (a key's leading folders, e.g. "2026/12/")."""
        def scan() -> list[tuple[str, dt.datetime]]:
            top = self.root / prefix.strip("/") if prefix else self.root
            if not top.is_dir():
                return []
            return [(str(p.relative_to(self.root)),
                     dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC))
                    for p in top.rglob("*") if p.is_file() and p.suffix != ".part"]
        return await asyncio.to_thread(scan)


class S3Storage:
    """An S3-compatible bucket (MinIO, Ceph, Alibaba OSS, AWS), path-style requests signed
    with AWS Signature V4 — no SDK needed for four calls."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str,
                 region: str = "us-east-1"):
        self.endpoint, self.bucket = endpoint.rstrip("/"), bucket
        self.access_key, self.secret_key, self.region = access_key, secret_key, region

    def _signed(self, method: str, key: str, query: dict[str, str], body: bytes
                ) -> tuple[str, dict[str, str]]:
        now = dt.datetime.now(dt.UTC)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        host = urllib.parse.urlsplit(self.endpoint).netloc
        path = "/" + self.bucket + ("/" + urllib.parse.quote(key, safe="/~") if key else "")
        canonical_query = "&".join(f"{urllib.parse.quote(k, safe='~')}="
                                   f"{urllib.parse.quote(v, safe='~')}"
                                   for k, v in sorted(query.items()))
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": stamp}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, path, canonical_query,
                               "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
                               signed, payload])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key_bytes = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        url = self.endpoint + path + (f"?{canonical_query}" if canonical_query else "")
        return url, headers

    async def _call(self, method: str, key: str = "", body: bytes = b"",
                    query: dict[str, str] | None = None):
        import httpx

        url, headers = self._signed(method, key, query or {}, body)
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.request(method, url, headers=headers, content=body)
        if response.status_code == 404 and method == "GET" and key:
            raise NotFound("Not found.")
        response.raise_for_status()
        return response

    async def put(self, key: str, data: bytes) -> None:
        await self._call("PUT", _safe_key(key), data)

    async def get(self, key: str) -> bytes:
        return (await self._call("GET", _safe_key(key))).content

    async def delete(self, key: str) -> None:
        await self._call("DELETE", _safe_key(key))

    async def list_keys(self, prefix: str = "") -> list[tuple[str, dt.datetime]]:
        found: list[tuple[str, dt.datetime]] = []
        query = {"list-type": "2", **({"prefix": prefix} if prefix else {})}
        while True:
            tree = ElementTree.fromstring((await self._call("GET", query=query)).content)
            ns = {"s3": tree.tag.split("}")[0].strip("{")} if "}" in tree.tag else {}
            prefix = "s3:" if ns else ""
            for item in tree.findall(f"{prefix}Contents", ns):
                key = item.findtext(f"{prefix}Key", "", ns)
                modified = item.findtext(f"{prefix}LastModified", "", ns)
                found.append((key, dt.datetime.fromisoformat(modified.replace("Z", "+00:00"))))
            token = tree.findtext(f"{prefix}NextContinuationToken", "", ns)
            if not token:
                return found
            query = {**query, "continuation-token": token}


_STORAGE: Storage | None = None


def storage() -> Storage:
    """The configured storage, made once per process."""
    global _STORAGE
    if _STORAGE is None:
        from portal.settings import ATTACHMENTS

        if ATTACHMENTS.s3_endpoint:
            _STORAGE = S3Storage(ATTACHMENTS.s3_endpoint, ATTACHMENTS.s3_bucket,
                                 ATTACHMENTS.s3_access_key, ATTACHMENTS.s3_secret_key,
                                 ATTACHMENTS.s3_region)
        else:
            _STORAGE = LocalStorage(ATTACHMENTS.directory)
    return _STORAGE


def use_storage(chosen: Storage | None) -> None:
    """Tests (and `portal serve`) may pick the storage explicitly."""
    global _STORAGE
    _STORAGE = chosen
