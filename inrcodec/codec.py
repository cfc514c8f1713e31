"""The linr pipeline: image -> .linr bytes -> image, bit for bit.

encode: pick a prior, fit a per-image weight delta (only if it pays for
itself in measured bytes), quantise it per tensor, QAT, then code every bit
with the probabilities of the *exact integer* network, and verify by decoding
before returning anything. decode: parse, rebuild the integer network, walk
the planes MSB first, check the pixel hash.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from . import container, entropy, exact, priors
from .bitplanes import all_features, make_schedule, pass_features
from .container import LIMITS, Reader, put_varint
from .errors import FormatError, ImageError, LimitError, LinrError, VerificationError
from .network import ACTIVATIONS, FloatNet, NetConfig, features_to_float, seeded_init
from .tables import WEIGHT_BITS

MAX_EFFORT = 9
MAX_FIT_ROWS = 1 << 18          # bits sampled for fitting and plan selection (large images)
DEFAULT_EFFORT = 2


# -- image checks ----------------------------------------------------------

@dataclass(frozen=True)
class ImageInfo:
    height: int
    width: int
    channels: int
    bits: int
    wide: bool          # stored as uint16
    plain2d: bool       # given as H x W (decoded the same way)


def describe(image) -> ImageInfo:
    if not isinstance(image, np.ndarray):
        raise ImageError("image must be a numpy array")
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"image dtype must be uint8 or uint16, not {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
        raise ImageError(f"image must be H x W or H x W x C with C in 1..4, not {image.shape}")
    h, w = image.shape[:2]
    c = 1 if image.ndim == 2 else image.shape[2]
    if h < 1 or w < 1:
        raise ImageError("image is empty")
    if h > LIMITS["side"] or w > LIMITS["side"] or h * w * c > LIMITS["samples"]:
        raise ImageError(f"image of {w}x{h}x{c} exceeds the size limits")
    peak = int(image.max())
    bits = max(1, peak.bit_length())
    return ImageInfo(h, w, c, bits, image.dtype == np.uint16, image.ndim == 2)


def pixel_tag(image: np.ndarray) -> bytes:
    """First 4 bytes of the SHA-256 of the pixels (C order, little endian)."""
    dt = "<u2" if image.dtype == np.uint16 else "u1"
    return hashlib.sha256(np.ascontiguousarray(image, dtype=dt).tobytes()).digest()[:4]


# -- header ----------------------------------------------------------------

@dataclass
class Header:
    image: ImageInfo
    cfg: NetConfig
    prior_id: int                # 0: seeded initialisation
    prior_tag: bytes = b""       # with a prior: first 4 bytes of its SHA-256
    seed: int = 0                # without: the seed of the initialisation
    pixels: bytes = b""

    def pack(self) -> bytes:
        im, cfg = self.image, self.cfg
        out = bytearray()
        put_varint(out, im.width)
        put_varint(out, im.height)
        out.append((im.channels - 1) | (im.bits - 1) << 2 | im.wide << 6 | im.plain2d << 7)
        out.append(cfg.context | ACTIVATIONS.index(cfg.activation) << 1 | (cfg.layers - 1) << 2
                   | cfg.relative << 5)
        put_varint(out, cfg.hidden)
        out.append(self.prior_id)
        if self.prior_id:
            out += self.prior_tag
        else:
            put_varint(out, self.seed)
        out += self.pixels
        return bytes(out)

    @classmethod
    def unpack(cls, data: bytes) -> "Header":
        r = Reader(data, "header")
        width = r.varint(LIMITS["side"])
        height = r.varint(LIMITS["side"])
        fmt = r.byte()
        channels, bits = (fmt & 3) + 1, ((fmt >> 2) & 15) + 1
        wide, plain2d = bool(fmt >> 6 & 1), bool(fmt >> 7)
        if width < 1 or height < 1:
            raise FormatError("header declares an empty image")
        if width * height * channels > LIMITS["samples"]:
            raise LimitError("image larger than this decoder accepts")
        if (bits > 8 and not wide) or (plain2d and channels != 1):
            raise FormatError("header fields contradict each other")
        arch = r.byte()
        if arch >> 6 or ((arch >> 2) & 7) + 1 > LIMITS["layers"]:
            raise FormatError("unknown network architecture")
        hidden = r.varint(LIMITS["hidden"])
        if hidden < 1:
            raise FormatError("network has no hidden units")
        cfg = NetConfig(channels=channels, context=bool(arch & 1), hidden=hidden,
                        layers=((arch >> 2) & 7) + 1, activation=ACTIVATIONS[arch >> 1 & 1],
                        relative=bool(arch >> 5 & 1))
        prior_id = r.byte()
        tag, seed = b"", 0
        if prior_id:
            tag = r.take(4)
        else:
            seed = r.varint()
        pixels = r.take(4)
        r.done()
        return cls(ImageInfo(height, width, channels, bits, wide, plain2d), cfg,
                   prior_id, tag, seed, pixels)


# -- the weight delta --------------------------------------------------------

@dataclass
class Delta:
    """Quantised delta: tensor index -> (step exponent e, integer array q).

    Weight = base + q * 2**-e, i.e. base_int + (q << (WEIGHT_BITS - e)).
    """
    tensors: dict = field(default_factory=dict)

    def apply(self, base: list) -> list:
        out = [b.copy() for b in base]
        for i, (e, q) in self.tensors.items():
            out[i] = out[i] + (q.astype(np.int64) << (WEIGHT_BITS - e))
        return out

    def describe(self) -> bytes:
        out = bytearray()
        out.append(len(self.tensors))
        for i, (e, q) in sorted(self.tensors.items()):
            out += bytes([i, e, entropy.best_ratio(q)])
            put_varint(out, int(np.abs(q).max()) if q.size else 0)
        return bytes(out)

    def cost_bits(self) -> float:
        if not self.tensors:
            return 0.0
        body = sum(entropy.geometric_cost(q.ravel(), entropy.best_ratio(q.ravel()))
                   for _, q in self.tensors.values())
        return body + 8 * (len(self.describe()) + 6)     # + descriptor chunk overhead


def read_delta(data: bytes, cfg: NetConfig, stream: entropy.StreamReader) -> Delta:
    r = Reader(data, "delta")
    shapes = cfg.shapes()
    count = r.byte()
    specs = []
    for _ in range(count):
        i, e, ratio = r.byte(), r.byte(), r.byte()
        max_abs = r.varint(entropy.MAX_SYMBOL)
        if i >= len(shapes) or e > WEIGHT_BITS or ratio not in entropy.GEOM_RATIOS:
            raise FormatError("delta descriptor out of range")
        if any(i == s[0] for s in specs):
            raise FormatError("delta names a tensor twice")
        specs.append((i, e, ratio, max_abs))
    r.done()
    delta = Delta()
    for i, e, ratio, max_abs in specs:
        size = int(np.prod(shapes[i]))
        delta.tensors[i] = (e, stream.ints(size, max_abs, ratio).reshape(shapes[i]))
    return delta


# -- exact probabilities ------------------------------------------------------

def exact_cost(cfg, weights, feats, targets, coded, scale: float = 1.0) -> float:
    """Ideal code length (bits) of the image's coded bits under the exact network."""
    p = exact.probabilities(cfg, weights, feats)
    return exact.bits_cost(p[coded], targets[coded]) * scale


# A (plane, channel) whose bits are all equal is flagged and not coded: this
# is what makes constant images, unused low bits and unused high bits cheap.
CONST_FLAG_P = 1 << 12          # P(flag) = 1/16, in units of 2**-16
HALF = 1 << 15


def constant_planes(img3: np.ndarray, bits: int) -> np.ndarray:
    """bits x C array: -1 where the plane varies, else its constant bit."""
    out = np.full((bits, img3.shape[2]), -1, np.int64)
    for plane in range(bits):
        b = (img3 >> plane) & 1
        for c in range(img3.shape[2]):
            lo, hi = b[:, :, c].min(), b[:, :, c].max()
            if lo == hi:
                out[plane, c] = lo
    return out


def write_constants(stream: entropy.StreamWriter, const: np.ndarray) -> None:
    for plane in range(const.shape[0] - 1, -1, -1):
        flags = (const[plane] >= 0).astype(np.int64)
        stream.bits(flags, np.full(flags.shape, CONST_FLAG_P))
        vals = const[plane][flags == 1]
        stream.bits(vals, np.full(vals.shape, HALF))


def read_constants(stream: entropy.StreamReader, bits: int, channels: int) -> np.ndarray:
    out = np.full((bits, channels), -1, np.int64)
    for plane in range(bits - 1, -1, -1):
        flags = stream.bits(np.full(channels, CONST_FLAG_P))
        vals = stream.bits(np.full(int(flags.sum()), HALF))
        out[plane][flags == 1] = vals
    return out


def _image3(image: np.ndarray) -> np.ndarray:
    return (image[:, :, None] if image.ndim == 2 else image).astype(np.int64)


# -- encoder ------------------------------------------------------------------

@dataclass
class Plan:
    """One candidate encoding: a prior (or seed), a delta, and its cost."""
    header: Header
    base: list
    delta: Delta
    bits: float                  # estimated payload bits (delta + residual)
    label: str = ""
    steps: dict = field(default_factory=dict)   # tensor -> step exponent tried


class _Encoder:
    def __init__(self, image, effort, prior, mode, seed, device, cfg_overrides, progress):
        self.info = describe(image)
        self.img3 = _image3(image)
        self.effort = effort
        self.mode = mode
        self.seed = seed
        self.device = device
        self.progress = progress
        self.prior_choice = prior
        self.overrides = cfg_overrides
        self._data_cache = {}

    # features and targets for an architecture (context or not), cached
    def dataset(self, cfg: NetConfig):
        key = (cfg.context, cfg.relative)
        if key not in self._data_cache:
            sched = make_schedule(self.info.height, self.info.width, cfg.context)
            const = constant_planes(self.img3, self.info.bits)
            # large images: fit and compare plans on a fixed random sample of
            # the bits (costs are scaled up); the file codes every bit
            total = self.info.height * self.info.width * self.info.bits
            keep = min(1.0, MAX_FIT_ROWS / total)
            rng = np.random.default_rng(self.seed)
            fs, ts, cs = [], [], []
            for plane, _t, f, b in all_features(self.img3, self.info.bits, sched, cfg.context,
                                                cfg.relative, keep, rng):
                fs.append(f.astype(np.int32))
                ts.append(b)
                cs.append(np.broadcast_to(const[plane] < 0, b.shape))
            self.sample_scale = total / max(1, sum(len(t) for t in ts))
            self._data_cache[key] = (np.concatenate(fs), np.concatenate(ts), np.concatenate(cs))
        return self._data_cache[key]

    def starts(self) -> list:
        """Candidate (header, base weights) pairs: priors and/or a seeded init."""
        info = self.info
        choice = self.prior_choice
        out = []
        if choice not in ("auto", "none"):
            if choice not in priors.NAMES:
                raise LinrError(f"unknown prior '{choice}' (known: {', '.join(priors.NAMES)}, auto, none)")
            p = priors.load(priors.NAMES[choice])
            if p.cfg.channels != info.channels:
                raise LinrError(f"prior '{choice}' is for {p.cfg.channels}-channel images, "
                                f"this image has {info.channels}")
            out.append(p)
        elif choice == "auto" and self.mode != "ber0" and not self.overrides:
            out.extend(priors.candidates(info.channels))
        starts = [(Header(info, p.cfg, p.pid, p.tag), list(p.weights), p.name) for p in out]
        if not starts:
            cfg = NetConfig(channels=info.channels, **{
                "context": self.mode != "ber0", "hidden": 32 if self.mode != "ber0" else 48,
                "layers": 2, "activation": "sine", **self.overrides})
            _check_cfg(cfg)
            starts.append((Header(info, cfg, 0, seed=self.seed), seeded_init(cfg, self.seed), "seeded"))
        return starts

    def zero_plan(self, header, base, label) -> Plan:
        feats, targets, coded = self.dataset(header.cfg)
        return Plan(header, base, Delta(), exact_cost(header.cfg, base, feats, targets, coded, self.sample_scale), label)

    def run(self) -> Plan:
        starts = self.starts()
        plans = []
        for header, base, label in starts:
            plans.append(self.zero_plan(header, base, label))
        best = min(plans, key=lambda p: p.bits)
        if self.effort > 0:
            # fit deltas on the best start: the subsets to try grow with effort
            header, base = best.header, best.base
            n = len(base)
            if self.mode == "ber0":
                subsets = [("all", list(range(n)))]
            elif header.prior_id == 0:
                subsets = [("last", [n - 2, n - 1]), ("all", list(range(n)))]
            else:
                subsets = [("last", [n - 2, n - 1])]
                if self.effort >= 5:
                    subsets.append(("biases", list(range(1, n, 2))))
                if self.effort >= 7:
                    subsets.append(("all", list(range(n))))
            for name, tensors in subsets:
                plans.append(self.fit(header, base, tensors, f"{best.label}+{name}"))
        return min(plans, key=lambda p: p.bits)

    def fit(self, header: Header, base: list, tensors: list, label: str) -> Plan:
        """Fit a delta on `tensors`, quantise by rate, QAT; the best resulting plan."""
        cfg = header.cfg
        feats, targets, _coded = self.dataset(cfg)
        from .fitting import pick_device, train
        dev = pick_device(self.device)
        torch.manual_seed(self.seed)
        net = FloatNet(cfg, base).to(dev)
        x = features_to_float(feats).to(dev)
        y = torch.from_numpy(targets.astype(np.float32)).to(dev)
        rows = x.shape[0]
        batch = 0 if rows <= 1 << 17 else 1 << 16
        steps = 40 * (1 + self.effort) * (4 if header.prior_id == 0 else 1)
        lr = 1e-3 if header.prior_id else 3e-3
        bar = _bar(self.progress, steps, f"fit {label}")

        def step_cb(step, loss):
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")
            if self.mode == "ber0" and step % 25 == 24:
                with torch.no_grad():
                    wrong = ((net(x) > 0).float() != y).any().item()
                return not wrong
            return False

        train(net, x, y, steps, trainable=tensors, lr=lr, batch=batch, seed=self.seed, callback=step_cb)
        if bar is not None:
            bar.close()
        best = None
        for e in range(4, WEIGHT_BITS + 1):
            plan = self.quantised_plan(header, base, net, tensors, {i: e for i in tensors}, label)
            if best is None or plan.bits < best.bits:
                best = plan
        # QAT at the chosen steps: fine-tune through a straight-through rounding
        steps_map = dict(best.steps)

        def fake_quant(i, d):
            if i not in steps_map:
                return d
            s = 2.0 ** steps_map[i]
            return d + (torch.round(d * s) / s - d).detach()

        net.quantizer = fake_quant
        train(net, x, y, max(20, steps // 4), trainable=tensors, lr=lr / 3, batch=batch, seed=self.seed + 1)
        net.quantizer = None
        qat = self.quantised_plan(header, base, net, tensors, steps_map, label + "+qat")
        return min(best, qat, key=lambda p: p.bits)

    def quantised_plan(self, header, base, net, tensors, steps_map, label) -> Plan:
        delta = Delta()
        for i in tensors:
            e = steps_map[i]
            d = net.delta[i].detach().cpu().double().numpy()
            q = np.round(d * (1 << e)).astype(np.int64)
            limit = (exact.WEIGHT_LIMIT - 1 - np.abs(base[i])) >> (WEIGHT_BITS - e)
            q = np.clip(q, -limit, limit)
            if q.any():
                delta.tensors[i] = (e, q)
        weights = delta.apply(base)
        feats, targets, coded = self.dataset(header.cfg)
        bits = exact_cost(header.cfg, weights, feats, targets, coded, self.sample_scale) + delta.cost_bits()
        return Plan(header, base, delta, bits, label, dict(steps_map))


def _check_cfg(cfg: NetConfig) -> None:
    if cfg.activation not in ACTIVATIONS:
        raise LinrError(f"activation must be one of {', '.join(ACTIVATIONS)}")
    if not 1 <= cfg.hidden <= LIMITS["hidden"] or not 1 <= cfg.layers <= LIMITS["layers"]:
        raise LinrError("hidden must be 1..256 and layers 1..8")
    if cfg.in_features > LIMITS["hidden"]:
        raise LinrError("too many input features for this architecture")


def _bar(progress, total, desc):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, leave=False, unit="step", disable=None, mininterval=0.5)


def write_plan(plan: Plan, image: np.ndarray) -> bytes:
    """Code a plan into a complete .linr file."""
    header, cfg = plan.header, plan.header.cfg
    header.pixels = pixel_tag(image)
    weights = plan.delta.apply(plan.base)
    exact.check_weights(cfg, weights)
    stream = entropy.StreamWriter()
    for i, (e, q) in sorted(plan.delta.tensors.items()):
        stream.ints(q, entropy.best_ratio(q))
    img3 = _image3(image)
    const = constant_planes(img3, header.image.bits)
    write_constants(stream, const)
    sched = make_schedule(header.image.height, header.image.width, cfg.context)
    for plane, _t, feats, bits in all_features(img3, header.image.bits, sched, cfg.context, cfg.relative):
        coded = const[plane] < 0
        stream.bits(bits[:, coded], exact.probabilities(cfg, weights, feats)[:, coded])
    chunks = [(container.HEADER, header.pack())]
    if plan.delta.tensors:
        chunks.append((container.DELTA, plan.delta.describe()))
    chunks.append((container.DATA, stream.finish()))
    return container.write(chunks)


def encode(image: np.ndarray, /, *, effort: int = DEFAULT_EFFORT, prior: str = "auto",
           mode: str = "smallest", seed: int = 0, device: str = "auto",
           hidden: Optional[int] = None, layers: Optional[int] = None,
           activation: Optional[str] = None, context: Optional[bool] = None,
           progress: bool = False, verify: bool = True) -> bytes:
    """Encode an H x W or H x W x C (C = 1..4) uint8/uint16 array to .linr bytes.

    effort: 0 (prior only, fastest) .. 9 (most fitting); mode: 'smallest'
    (default, the smallest file) or 'ber0' (the paper's: fit a full delta of an
    unconditioned SIREN until no bit is wrong, budget permitting); prior:
    'auto', 'none' or a prior name. hidden/layers/activation/context pick the
    architecture when no prior is used. The output is decoded and compared
    with the input before it is returned.
    """
    if not isinstance(effort, int) or not 0 <= effort <= MAX_EFFORT:
        raise LinrError(f"effort must be an integer 0..{MAX_EFFORT}")
    if mode not in ("smallest", "ber0"):
        raise LinrError("mode must be 'smallest' or 'ber0'")
    if not isinstance(seed, int) or not 0 <= seed < 1 << 32:
        raise LinrError("seed must be an integer 0 .. 2**32-1")
    overrides = {k: v for k, v in dict(hidden=hidden, layers=layers, activation=activation,
                                       context=context).items() if v is not None}
    if overrides and prior == "auto":
        prior = "none"
    enc = _Encoder(image, effort, prior, mode, seed, device, overrides, progress)
    plan = enc.run()
    data = write_plan(plan, image)
    if verify:
        back = decode(data)
        if back.shape != image.shape or back.dtype != image.dtype or not np.array_equal(back, image):
            raise VerificationError("internal error: the encoded file does not decode to the input")
    return data


# -- decoder ------------------------------------------------------------------

def _parse(data: bytes):
    box = container.read(data)
    header = Header.unpack(box.get(container.HEADER))
    if header.prior_id:
        prior = priors.resolve(header.prior_id, header.prior_tag)
        if prior.cfg != header.cfg:
            raise FormatError("header architecture differs from its prior's")
        base = list(prior.weights)
    else:
        if header.cfg.in_features > LIMITS["hidden"]:
            raise FormatError("network has more inputs than this decoder accepts")
        base = seeded_init(header.cfg, header.seed)
    return box, header, base


def decode(data: bytes, /) -> np.ndarray:
    """Decode .linr bytes to the exact array that was encoded."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise LinrError("decode expects bytes")
    box, header, base = _parse(data)
    cfg, im = header.cfg, header.image
    stream = entropy.StreamReader(box.get(container.DATA))
    try:
        delta_data = box.get(container.DELTA)
        delta = read_delta(delta_data, cfg, stream) if delta_data is not None else Delta()
        weights = delta.apply(base)
        exact.check_weights(cfg, weights)
        sched = make_schedule(im.height, im.width, cfg.context)
        const = read_constants(stream, im.bits, im.channels)
        known = np.zeros((im.height, im.width, im.channels), np.int64)
        for plane in range(im.bits - 1, -1, -1):
            decoded = np.zeros((im.height, im.width), bool)
            coded = const[plane] < 0
            for t in range(sched.passes):
                for ys, xs in sched.chunks(t):
                    bits = np.broadcast_to(np.maximum(const[plane], 0), (len(ys), im.channels)).copy()
                    if coded.any():
                        feats = pass_features(known, decoded, plane, im.bits, sched, t, cfg.context, ys, xs,
                                              cfg.relative)
                        bits[:, coded] = stream.bits(exact.probabilities(cfg, weights, feats)[:, coded])
                    known[ys, xs] |= bits << plane
                decoded[sched.coords[t]] = True
        stream.check_end()
    except LinrError:
        raise
    except Exception as exc:  # anything the coder raises on hostile data
        raise FormatError(f"corrupt coded data ({type(exc).__name__})") from None
    out = known.astype(np.uint16 if im.wide else np.uint8)
    if im.plain2d:
        out = out[:, :, 0]
    if pixel_tag(out) != header.pixels:
        raise FormatError("decoded pixels do not match the stored hash (corrupt file)")
    return out


def info(data: bytes) -> dict:
    """What a .linr file holds: geometry, model, prior, bytes per chunk, bpp."""
    box, header, _base = _parse(data)
    im, cfg = header.image, header.cfg
    prior_name = priors.REGISTRY[header.prior_id][0] if header.prior_id else None
    delta = box.get(container.DELTA)
    return {
        "width": im.width, "height": im.height, "channels": im.channels,
        "bit_depth": im.bits, "dtype": "uint16" if im.wide else "uint8",
        "model": {"context": cfg.context, "hidden": cfg.hidden, "layers": cfg.layers,
                  "activation": cfg.activation, "parameters": sum(int(np.prod(s)) for s in cfg.shapes())},
        "prior": prior_name, "prior_tag": header.prior_tag.hex() if header.prior_id else None,
        "seed": None if header.prior_id else header.seed,
        "delta_tensors": (delta[0] if delta else 0),
        "bytes": len(data),
        "chunks": {t.decode(): len(d) for t, d in box.chunks},
        "bpp": 8 * len(data) / (im.width * im.height),
    }
