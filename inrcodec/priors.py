"""Priors: trained initialisations theta_0 of the network, shipped or your own.

A prior is a `.linrp` file (formats/linr.md, "Prior files"): a signature,
its name, JSON metadata, the architecture and the int32 weights. Its
identity is the SHA-256 of the whole file; a `.linr` file names its prior by
the first 8 bytes of that digest. Built-in priors ship in `inrcodec/priors/`
and are pinned by their full digest below: a retrained prior gets a new
name, never an old one's bytes. Other priors are found on the search path:
$LINR_PRIOR_PATH (folders separated by os.pathsep), then the user folder
($XDG_DATA_HOME or ~/.local/share)/linr/priors: by digest when decoding, as
NAME.linrp for a prior named NAME when encoding, and all of them (on_path)
ranked beside the built-in ones by `prior="auto"`.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import FormatError, PriorError
from .exact import WEIGHT_LIMIT, check_weights
from .model import ACTIVATIONS, NetConfig

PRIOR_DIR = Path(__file__).resolve().parent / "priors"
MAGIC = b"\x89LNRP\r\n"
VERSION = 1
MAX_PRIOR_BYTES = 1 << 24          # a prior of the widest network is ~1.1 MB
EXTENSION = ".linrp"

# name -> full SHA-256 of the shipped file. Frozen: a released prior never
# changes; a retrained one gets a new name and number.
BUILTIN = {
    "mnist": "669c00810798dfe171b65b86585e71c36e85772f86d8df7a9b160f109d29952a",
    "fashion": "abf1748015cfb4ab663d031f0585e6b90d5442ecbb0aafd107fbedd5f3270ca3",
    "photo": "d83a806fdbd9bee4b2b4eefd16c1fd63d8bc98b90b3a2436bb43244953b71fc1",
    "photo-gray": "91df73d33f9ab8d9a2c900b33dce35fb30a33a6cc57d604962c6fc233a138b54",
    "photo16": "6aabde5a47f7781933893461265083cca234aca5c72b2677449e05a7971a6648",
    "gray16": "42e7b0e1bf285477203070a0799603e825c3e9464e4092ed694465cd578f7952",
    "gray16-2": "2aa1ff4a9914d3692013102967ae8175c17fd577c75a0249f63aa93c58a4d09f",
    "photo-rgba": "de36f2aeac664d41f7276cb46ed106097e0c48e293580342b8eef79235b56be1",
    "photo-ga": "73986cfbfce5c2787393d809d7d4074e7ce74618ac424f03ddf1a1e95fb86306",
    "photo-2": "7d75a6749ef29e91dfa2df34ad99d763201c8bf563684e69f6c70af74a57746f",
    "photo-3": "951b696b34be841722a71effb290a21862944924fa3a0aa946b99ebcd3542d1c",
    "photo-5": "84b72c559fb99bafc99cdebd9868b92869fbbee835909d0729ab19d800240a3c",
    "photo16-2": "2bc36f8f154b72c7b9898bde89260de4f656a4f8308566b0cb8dd6faa2406a05",
    "photo-7": "19adcfb305c20bd90fda371f0a37c3e11f770c0dca0489bf12866fe4d0b7aa27",
    "photo16-4": "4f19e5d51c60b1cff1af83088d5921350fb39dcc70364a4a0fcfe96f9e2403b6",
}
# name -> its number in .linr headers (1..127; never reused: linr 0.1 used 1..5)
BUILTIN_IDS = {
    "mnist": 6,
    "fashion": 7,
    "photo": 8,
    "photo-gray": 9,
    "photo16": 10,
    "gray16": 11,
    "gray16-2": 12,
    "photo-rgba": 13,
    "photo-ga": 14,
    "photo-2": 15,
    "photo-3": 16,
    # 17: photo-4 (48000 steps), replaced by photo-5 before any release: not to be reused
    "photo-5": 18,
    "photo16-2": 19,
    "photo-7": 20,
    "photo16-4": 21,
}
# built-in priors `auto` no longer ranks (they still decode, and load by name): the one that
# replaced each. photo-7 is photo-5 fine-tuned onto relu16's grid, whose trunk runs on the
# CPU's int16 dot products (3.8x faster here), for the same rate; photo16-4 is photo16-2 moved
# onto the grid the same way.
SUPERSEDED = {"photo-5": "photo-7", "photo16-2": "photo16-4"}


@dataclass(frozen=True)
class Prior:
    name: str
    cfg: NetConfig
    weights: tuple
    digest: bytes                   # SHA-256 of the file
    size: int                       # bytes of the file
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def tag(self) -> bytes:
        """What a .linr file stores: the first 8 bytes of the digest."""
        return self.digest[:8]


def pack(name: str, cfg: NetConfig, weights, meta: dict | None = None) -> bytes:
    raw_name = name.encode()
    raw_meta = json.dumps(meta or {}, sort_keys=True, separators=(",", ":")).encode()
    if not 1 <= len(raw_name) <= 64 or len(raw_meta) > 0xFFFF:
        raise PriorError("prior name must be 1..64 bytes and metadata below 64 kB")
    out = bytearray(MAGIC + bytes([VERSION, len(raw_name)]) + raw_name)
    out += struct.pack("<H", len(raw_meta)) + raw_meta
    out += bytes([cfg.channels, ACTIVATIONS.index(cfg.activation), cfg.layers])
    out += struct.pack("<H", cfg.hidden)
    for i, (w, shape) in enumerate(zip(weights, cfg.shapes())):
        w = np.asarray(w)
        if w.shape != tuple(shape):
            raise PriorError("prior weights do not match the architecture")
        # the decoder refuses a file whose weights reach the limit, so no prior may ship them
        if w.size and (w.max() >= WEIGHT_LIMIT or w.min() <= -WEIGHT_LIMIT):
            raise PriorError(f"prior weight tensor {i} holds {max(w.max(), w.min(), key=abs)}: "
                             f"weights must satisfy |w| < {WEIGHT_LIMIT} (2^20)")
        out += w.astype("<i4").tobytes()
    try:
        check_weights(cfg, [np.asarray(w) for w in weights])
    except FormatError as exc:
        raise PriorError(str(exc)) from None
    return bytes(out)


class _Corrupt(Exception):
    """A defect of a prior file, in plain words."""


def _take(data: bytes, pos: int, n: int, what: str) -> bytes:
    if pos + n > len(data):
        raise _Corrupt(f"file is truncated (ends in the {what})")
    return data[pos:pos + n]


def unpack(data: bytes, where: str = "prior") -> Prior:
    """Parse a .linrp file; any defect is a PriorError naming `where`, in one plain line."""
    data = bytes(data)
    try:
        name, cfg, weights, meta = _parse(data)
    except _Corrupt as exc:
        raise PriorError(f"{where}: corrupt prior file: {exc}") from None
    return Prior(name, cfg, tuple(weights), hashlib.sha256(data).digest(), len(data), meta)


def _parse(data: bytes):
    if len(data) > MAX_PRIOR_BYTES:
        raise _Corrupt("file too large for a prior")
    if data[:len(MAGIC)] != MAGIC:
        raise _Corrupt("not a .linrp prior file (bad signature)")
    pos = len(MAGIC)
    version = _take(data, pos, 1, "version")[0]
    if version != VERSION:
        raise _Corrupt(f"unsupported prior version {version}")
    n = _take(data, pos + 1, 1, "name length")[0]
    try:
        name = _take(data, pos + 2, n, "name").decode()
    except UnicodeDecodeError:
        raise _Corrupt("the name is not UTF-8") from None
    if not name:
        raise _Corrupt("the name is empty")
    pos += 2 + n
    (m,) = struct.unpack("<H", _take(data, pos, 2, "metadata length"))
    try:
        meta = json.loads(_take(data, pos + 2, m, "metadata").decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Corrupt("the metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise _Corrupt("the metadata is not a JSON object")
    pos += 2 + m
    channels, act, layers = _take(data, pos, 3, "architecture")
    (hidden,) = struct.unpack("<H", _take(data, pos + 3, 2, "architecture"))
    pos += 5
    if act >= len(ACTIVATIONS):
        raise _Corrupt(f"unknown activation number {act}")
    try:
        cfg = NetConfig(channels=channels, hidden=hidden, layers=layers, activation=ACTIVATIONS[act])
    except ValueError:
        raise _Corrupt(f"invalid architecture ({channels} channels, {layers} layers of "
                       f"{hidden})") from None
    weights = []
    for shape in cfg.shapes():
        size = int(np.prod(shape))
        raw = _take(data, pos, 4 * size, "weights")
        weights.append(np.frombuffer(raw, "<i4").astype(np.int64).reshape(shape))
        pos += 4 * size
    if pos != len(data):
        raise _Corrupt(f"{len(data) - pos} trailing byte(s) after the weights")
    try:
        check_weights(cfg, weights)
    except FormatError as exc:
        raise _Corrupt(str(exc)) from None
    return name, cfg, weights, meta


def _pinned_tag(name: str) -> bytes:
    """The 8-byte id of built-in prior `name`, from its pinned digest (no file read)."""
    return bytes.fromhex(BUILTIN[name])[:8]


def builtin_tag(number: int) -> bytes:
    """The 8-byte id of built-in prior `number` (from its pinned digest)."""
    for name, n in BUILTIN_IDS.items():
        if n == number:
            return _pinned_tag(name)
    raise PriorError(f"this file needs built-in prior number {number}, which this linr "
                     f"does not have (a newer linr may)")


def builtin_number(prior: "Prior") -> int:
    """The header number of a prior if it is a built-in one, else 0."""
    for name, n in BUILTIN_IDS.items():
        if BUILTIN[name] == prior.digest.hex():
            return n
    return 0


@lru_cache(maxsize=None)
def builtin(name: str) -> Prior:
    if name not in BUILTIN:
        raise PriorError(f"unknown prior '{name}' (built-in: {', '.join(BUILTIN) or 'none'})")
    path = PRIOR_DIR / f"{name}{EXTENSION}"
    if not path.is_file():
        raise PriorError(f"built-in prior '{name}' is not installed ({path})")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()          # before parsing: an altered file is that
    if digest != BUILTIN[name]:
        raise PriorError(f"built-in prior '{name}' differs from the released one "
                         f"(sha256 {digest[:16]}..., expected {BUILTIN[name][:16]}...)")
    return unpack(data, f"built-in prior '{name}'")


def available() -> list:
    """The installed built-in priors."""
    return [builtin(n) for n in BUILTIN if (PRIOR_DIR / f"{n}{EXTENSION}").is_file()]


def search_path() -> list:
    folders = [Path(p) for p in os.environ.get("LINR_PRIOR_PATH", "").split(os.pathsep) if p]
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return folders + [Path(data_home) / "linr" / "priors"]


SEARCH_PATH_TEXT = "LINR_PRIOR_PATH, then ~/.local/share/linr/priors"


def _error(message: str, cli: str | None = None) -> PriorError:
    """A PriorError whose message fits the API; `cli`, the command line's wording of it
    (exc.cli_message, which the command line prints instead)."""
    err = PriorError(message)
    if cli is not None:
        err.cli_message = cli
    return err


def _path_files() -> list:
    """The .linrp files on the search path, folder by folder, each folder's in name order."""
    out = []
    for folder in search_path():
        try:
            files = sorted(folder.glob(f"*{EXTENSION}")) if folder.is_dir() else []
        except OSError:
            files = []
        out += [f for f in files if f.is_file()]
    return out


@lru_cache(maxsize=256)
def _parse_file(path: str, mtime_ns: int, size: int) -> Prior:
    """A prior file's contents, read once for each (path, mtime, size)."""
    return unpack(Path(path).read_bytes(), path)


def _read_path_file(f: Path) -> Prior:
    st = f.stat()
    if st.st_size > MAX_PRIOR_BYTES:
        raise PriorError(f"{f}: too large for a prior file")
    return _parse_file(str(f), st.st_mtime_ns, st.st_size)


def on_path() -> list:
    """The priors on the search path that parse (others are skipped), the first file of each
    digest, built-in ones left out: what `--prior auto` ranks beside the built-in priors."""
    seen = set(BUILTIN.values())
    out = []
    for f in _path_files():
        try:
            p = _read_path_file(f)
        except (OSError, PriorError):
            continue
        if p.digest.hex() not in seen:
            seen.add(p.digest.hex())
            out.append(p)
    return out


def named_on_path(name: str):
    """The first NAME.linrp on the search path, or None."""
    for folder in search_path():
        f = folder / f"{name}{EXTENSION}"
        try:
            if f.is_file():
                return f
        except OSError:
            continue
    return None


def load(spec) -> Prior:
    """A prior from a built-in name, a NAME.linrp on the search path, the bytes of a .linrp
    file, or its path."""
    if isinstance(spec, (bytes, bytearray, memoryview)):
        return unpack(bytes(spec), "prior bytes")
    if isinstance(spec, str) and spec in BUILTIN:
        return builtin(spec)
    path = Path(spec)
    if isinstance(spec, str) and not path.suffix and not path.exists() and os.sep not in spec \
            and (os.altsep is None or os.altsep not in spec):
        found = named_on_path(spec)
        if found is None:
            raise PriorError(f"unknown prior '{spec}' (built-in: {', '.join(BUILTIN) or 'none'}; "
                             f"no {spec}{EXTENSION} on the search path ({SEARCH_PATH_TEXT}); "
                             f"or give a {EXTENSION} file)")
        path = found
    try:
        if not path.is_file():
            raise PriorError(f"prior file {path} not found")
        if path.stat().st_size > MAX_PRIOR_BYTES:
            raise PriorError(f"{path}: too large for a prior file")
        return unpack(path.read_bytes(), str(path))
    except OSError as exc:
        raise PriorError(f"prior file {path}: {exc.strerror or exc}") from None


def find(tag: bytes, extra=()) -> Prior:
    """The prior whose digest starts with `tag`: given ones, built-ins, then the search path."""
    extra = list(extra)
    for p in extra:
        if p.tag == tag:
            return p
    for name in BUILTIN:                          # by the pinned digests: one file looked at
        if _pinned_tag(name) == tag and (PRIOR_DIR / f"{name}{EXTENSION}").is_file():
            return builtin(name)
    for f in _path_files():
        try:
            if f.stat().st_size <= MAX_PRIOR_BYTES and hashlib.sha256(f.read_bytes()).digest()[:8] == tag:
                return unpack(f.read_bytes(), str(f))
        except OSError:
            continue
    needs = (f"this file needs prior {tag.hex()} (first 8 bytes of its SHA-256), which is not "
             f"built in nor on the search path ({SEARCH_PATH_TEXT})")
    if extra:
        given = ", ".join(f"'{p.name}' (id {p.tag.hex()})" for p in extra)
        raise _error(f"{needs}; the prior given, {given}, is another one",
                     f"{needs}; the prior passed with --prior, {given}, is another one")
    raise _error(f"{needs}; pass it as prior= (the .linrp file's path or its bytes)",
                 f"{needs}; pass it with --prior FILE.linrp")
