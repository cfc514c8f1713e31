"""Shipped priors: meta-learned initialisations theta_0, one per domain.

A prior is an .npz in inrcodec/priors/ with the network config and integer
weights. A file names its prior by a one-byte id and the first 4 bytes of the
prior's SHA-256, so a missing or altered prior is caught before decoding.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import PriorError
from .network import NetConfig

PRIOR_DIR = Path(__file__).resolve().parent / "priors"

# id -> (name, channels, bit depths it is meant for). Ids are part of the
# format and released priors are frozen: files name them by content hash, so a
# retrained prior gets a new id and name, never the old ones.
REGISTRY = {
    1: ("mnist", 1, (8,)),
    2: ("fashion", 1, (8,)),
    3: ("photo", 3, (8,)),
    4: ("photo-gray", 1, (8,)),
    5: ("photo16", 3, (16,)),
}
NAMES = {v[0]: k for k, v in REGISTRY.items()}


@dataclass(frozen=True)
class Prior:
    pid: int
    name: str
    cfg: NetConfig
    weights: tuple
    digest: bytes          # full SHA-256 of the content
    size: int              # bytes of the shipped file

    @property
    def tag(self) -> bytes:
        return self.digest[:4]


def content_digest(cfg: NetConfig, weights) -> bytes:
    h = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True).encode())
    for w in weights:
        h.update(np.ascontiguousarray(w, dtype="<i8").tobytes())
    return h.digest()


def save(path: Path, cfg: NetConfig, weights, meta: dict) -> None:
    arrays = {f"w{i}": np.asarray(w, np.int32) for i, w in enumerate(weights)}
    np.savez_compressed(path, config=json.dumps(asdict(cfg)), meta=json.dumps(meta), **arrays)


@lru_cache(maxsize=None)
def load(pid: int) -> Prior:
    if pid not in REGISTRY:
        raise PriorError(f"unknown prior id {pid}")
    name = REGISTRY[pid][0]
    path = PRIOR_DIR / f"{name}.npz"
    if not path.exists():
        raise PriorError(f"prior '{name}' is not installed ({path})")
    try:
        with np.load(path, allow_pickle=False) as z:
            fields = json.loads(str(z["config"]))
            fields.setdefault("relative", False)      # priors from before the field existed
            cfg = NetConfig(**fields)
            weights = tuple(z[f"w{i}"].astype(np.int64) for i in range(len(cfg.shapes())))
    except Exception as exc:  # a damaged prior file is a prior error, not a crash
        raise PriorError(f"prior '{name}' cannot be read: {exc}") from None
    return Prior(pid, name, cfg, weights, content_digest(cfg, weights), path.stat().st_size)


def available() -> list:
    """Installed priors, by id."""
    return [load(pid) for pid in sorted(REGISTRY) if (PRIOR_DIR / f"{REGISTRY[pid][0]}.npz").exists()]


def resolve(pid: int, tag: bytes) -> Prior:
    prior = load(pid)
    if prior.tag != tag:
        raise PriorError(f"prior '{prior.name}' differs from the one this file was encoded with")
    return prior


def candidates(channels: int) -> list:
    """Installed priors whose architecture fits an image of `channels`."""
    return [p for p in available() if p.cfg.channels == channels]
