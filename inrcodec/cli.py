"""The `linr` command line: a thin wrapper over the Python API.

Every failure is one line on stderr (`linr: FILE: what went wrong`) and a
non-zero exit code: 1 for bad input or files, 2 for usage, 3 for internal errors.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import click
import numpy as np

from . import __version__, codec, imageio, priors
from .errors import LinrError


class _Fail(Exception):
    def __init__(self, where: str, message: str, code: int = 1):
        super().__init__(message)
        self.where, self.code = where, code


def _guard(where: str, func, *args, **kwargs):
    """Run func, turning any failure into a one-line _Fail about `where`."""
    try:
        return func(*args, **kwargs)
    except LinrError as exc:
        raise _Fail(where, str(exc)) from None
    except OSError as exc:
        raise _Fail(where, exc.strerror or str(exc)) from None
    except MemoryError:
        raise _Fail(where, "out of memory") from None


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        click.echo(msg, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linr")
def cli() -> None:
    """linr: lossless image coding with a neural network as the payload."""


@cli.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--effort", type=click.IntRange(0, codec.MAX_EFFORT), default=codec.DEFAULT_EFFORT,
              show_default=True, help="0 = prior only (fast) .. 9 = most fitting.")
@click.option("--prior", default="auto", show_default=True,
              help="auto, none, or a prior name (see `linr priors`).")
@click.option("--mode", type=click.Choice(["smallest", "ber0"]), default="smallest", show_default=True,
              help="smallest file, or the paper's fit-until-no-bit-is-wrong.")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="where fitting runs; decoding always runs on the CPU.")
@click.option("--force", is_flag=True, help="overwrite DST if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar or summary.")
def encode(src, dst, effort, prior, mode, seed, device, force, quiet):
    """Encode an image file SRC (PNG, PGM/PPM, TIFF...) into DST.linr."""
    if Path(dst).exists() and not force:
        raise _Fail(dst, "output exists (use --force to overwrite)")
    image = _guard(src, imageio.read_image, src)
    t0 = time.perf_counter()
    data = _guard(src, codec.encode, image, effort=effort, prior=prior, mode=mode, seed=seed,
                  device=device, progress=not quiet)
    _guard(dst, imageio.write_bytes, dst, data, force)
    bpp = 8 * len(data) / (image.shape[0] * image.shape[1])
    _say(quiet, f"{src} -> {dst}: {len(data)} bytes, {bpp:.3f} bpp, {time.perf_counter() - t0:.2f} s")


@cli.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="overwrite DST if it exists.")
@click.option("-q", "--quiet", is_flag=True)
def decode(src, dst, force, quiet):
    """Decode SRC.linr into DST (format from its extension; .png keeps 16 bits)."""
    if Path(dst).exists() and not force:
        raise _Fail(dst, "output exists (use --force to overwrite)")
    data = _guard(src, Path(src).read_bytes)
    t0 = time.perf_counter()
    image = _guard(src, codec.decode, data)
    _guard(dst, imageio.write_image, dst, image, force)
    _say(quiet, f"{src} -> {dst}: {image.shape[1]}x{image.shape[0]}, {time.perf_counter() - t0:.2f} s")


@cli.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON.")
def info(src, as_json):
    """Show what a .linr file holds."""
    data = _guard(src, Path(src).read_bytes)
    meta = _guard(src, codec.info, data)
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    m = meta["model"]
    click.echo(f"{src}: {meta['width']}x{meta['height']}, {meta['channels']} channel(s), "
               f"{meta['bit_depth']}-bit ({meta['dtype']})")
    click.echo(f"  model: {'conditioned' if m['context'] else 'unconditioned'} {m['activation']} MLP, "
               f"{m['layers']} x {m['hidden']} hidden, {m['parameters']} parameters")
    prior = f"{meta['prior']} ({meta['prior_tag']})" if meta["prior"] else f"none (seed {meta['seed']})"
    click.echo(f"  prior: {prior}; delta tensors: {meta['delta_tensors']}")
    chunks = ", ".join(f"{k} {v}" for k, v in meta["chunks"].items())
    click.echo(f"  {meta['bytes']} bytes (chunk data: {chunks}); {meta['bpp']:.3f} bpp")


@cli.command(name="priors")
def list_priors():
    """List the installed priors."""
    for p in priors.available():
        c = p.cfg
        click.echo(f"{p.name:12s} id {p.pid}  {c.channels} ch  {c.layers}x{c.hidden} {c.activation}  "
                   f"{p.size} bytes  sha256 {p.digest.hex()[:16]}")


@cli.command()
@click.option("-q", "--quiet", is_flag=True)
def demo(quiet):
    """Encode, decode and check bundled samples; compare with PNG."""
    import cv2
    samples = sorted((Path(__file__).parent / "samples").glob("*.png"))
    if not samples:
        raise _Fail("demo", "no bundled samples found")
    for path in samples:
        image = _guard(str(path), imageio.read_image, path)
        t0 = time.perf_counter()
        data = _guard(path.name, codec.encode, image, progress=not quiet)
        t1 = time.perf_counter()
        back = _guard(path.name, codec.decode, data)
        t2 = time.perf_counter()
        if not np.array_equal(back, image):
            raise _Fail(path.name, "round trip failed", 3)
        png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].size
        pixels = image.shape[0] * image.shape[1]
        click.echo(f"{path.name:24s} {image.shape[1]}x{image.shape[0]}x"
                   f"{1 if image.ndim == 2 else image.shape[2]} {image.dtype}: "
                   f"linr {8 * len(data) / pixels:6.3f} bpp, PNG {8 * png / pixels:6.3f} bpp, "
                   f"exact round trip (encode {t1 - t0:.2f} s, decode {t2 - t1:.2f} s)")


def main(argv: Optional[list] = None) -> int:
    try:
        rv = cli.main(args=argv, prog_name="linr", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except _Fail as exc:
        click.echo(f"linr: {exc.where}: {exc}", err=True)
        return exc.code
    except click.exceptions.Abort:
        click.echo("linr: interrupted", err=True)
        return 130
    except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return 0
    except click.ClickException as exc:
        click.echo(f"linr: {exc.format_message()}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("linr: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: still one line, no traceback
        click.echo(f"linr: internal error: {type(exc).__name__}: {exc}", err=True)
        return 3


if __name__ == "__main__":
    sys.exit(main())
