"""Write the conformance vectors in formats/conformance/ (run once per format
release; released files are never regenerated, they must keep decoding).

    python formats/make_conformance.py [--force]
"""
from __future__ import annotations

import hashlib
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import inrcodec  # noqa: E402
from inrcodec import container  # noqa: E402


def samples() -> dict:
    rng = np.random.default_rng(2025)
    y, x = np.mgrid[:24, :24]
    pattern = np.stack([(x * 10) % 256, (y * 10) % 256, ((x + y) * 5) % 256], 2).astype(np.uint8)
    digit = inrcodec.read_image(HERE.parent / "inrcodec" / "samples" / "digit-28x28.png")
    return {
        "digit-mnist-prior": (digit, {}),
        "gray-1x1": (np.array([[77]], np.uint8), {"effort": 0}),
        "constant-rgb": (np.full((9, 13, 3), (10, 200, 30), np.uint8), {"effort": 0}),
        "rgba-noise-seeded": (rng.integers(0, 256, (6, 7, 4), dtype=np.uint8), {"effort": 0}),
        "gray16-noise": (rng.integers(0, 65536, (8, 5), dtype=np.uint16), {"effort": 0}),
        "rgb-fitted-delta": (pattern, {"effort": 2, "prior": "none"}),
        "gray-unconditioned-ber0": (digit[8:20, 8:20], {"effort": 1, "mode": "ber0"}),
    }


def rewrite(data: bytes, fn) -> bytes:
    box = container.read(data)
    return container.write(fn(list(box.chunks)))


def broken(valid: bytes) -> dict:
    def bad_hash(chunks):
        t, h = chunks[0]
        return [(t, h[:-4] + bytes(b ^ 0xFF for b in h[-4:]))] + chunks[1:]

    def bad_prior(chunks):
        t, h = chunks[0]
        return [(t, h[:-8] + b"\0\0\0\0" + h[-4:])] + chunks[1:]

    crc = bytearray(valid)
    crc[-1] ^= 0x01
    big = bytearray()
    for v in (1 << 16, 1 << 16):
        container.put_varint(big, v)
    big += bytes([3, 4, 32, 0, 0]) + b"\0" * 4
    return {
        "bad-signature": b"\x89LNX" + valid[4:],
        "text-mode-transfer": valid.replace(b"\r\n", b"\n", 1),
        "bad-version": valid[:6] + b"\x07" + valid[7:],
        "truncated-header": valid[:10],
        "truncated-data": valid[:-5],
        "crc-mismatch": bytes(crc),
        "pixel-hash-mismatch": rewrite(valid, bad_hash),
        "wrong-prior-tag": rewrite(valid, bad_prior),
        "unknown-critical-chunk": rewrite(valid, lambda c: c[:1] + [(b"Z", b"?")] + c[1:]),
        "missing-data-chunk": rewrite(valid, lambda c: c[:1]),
        "duplicate-header": rewrite(valid, lambda c: c[:1] + c),
        "oversized-image": container.write([(b"H", bytes(big)), (b"D", b"")]),
        "trailing-garbage": valid + b"\x01",
    }


def main() -> None:
    force = "--force" in sys.argv
    out_valid, out_broken = HERE / "conformance" / "valid", HERE / "conformance" / "broken"
    if out_valid.exists() and not force:
        raise SystemExit("conformance files exist; released vectors are not regenerated (--force)")
    out_valid.mkdir(parents=True, exist_ok=True)
    out_broken.mkdir(parents=True, exist_ok=True)
    rows = ["file\tshape\tdtype\tsha256_of_samples"]
    first = None
    for name, (img, opts) in samples().items():
        data = inrcodec.encode(img, **opts)
        (out_valid / f"{name}.linr").write_bytes(data)
        digest = hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()
        rows.append(f"{name}.linr\t{'x'.join(map(str, img.shape))}\t{img.dtype}\t{digest}")
        first = first or data
    (HERE / "conformance" / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    for name, data in broken(first).items():
        (out_broken / f"{name}.linr").write_bytes(data)
    print(f"wrote {len(rows) - 1} valid and {len(broken(first))} broken files")


if __name__ == "__main__":
    main()
