"""The `linr` command line: a thin wrapper over the Python API.

Every failure is one line on stderr (`linr: FILE: what went wrong`, control
characters in names escaped) and a non-zero exit code: 1 for bad input or
files, 2 for usage, 3 for internal errors (a bug: please report it), 130 when
interrupted (Ctrl-C at any moment: no traceback, no partial output file).

`-` is stdin for an input and stdout for an output (`linr encode - out.linr`,
`linr decode in.linr -` writes PNG, `linr info -`). Many inputs, or folders,
go with `-o OUTDIR` (and `--jobs N`): `linr encode a.png b.png -o out/`.
"""
from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Optional

import click

from . import __version__

IMAGE_EXTS = (".png", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".pam", ".pbm", ".bmp", ".dib",
              ".jpg", ".jpeg", ".webp", ".jp2", ".ras", ".sr")
MAX_EFFORT, DEFAULT_EFFORT = 9, 2


class _Fail(Exception):
    def __init__(self, where: str, message: str, code: int = 1):
        super().__init__(message)
        self.where, self.code = where, code


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text) -> str:
    """One printable line: control characters (newlines included) escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1] if m.group() not in "\u2028\u2029"
                        else f"\\u{ord(m.group()):04x}", str(text))


def _guard(where, func, *args, **kwargs):
    """Run func, turning any failure a user can cause into a one-line _Fail about `where`."""
    from .errors import LinrError
    try:
        return func(*args, **kwargs)
    except LinrError as exc:
        raise _Fail(str(where), str(exc)) from None
    except MemoryError:
        raise _Fail(str(where), "out of memory: image too large for this machine") from None
    except OSError as exc:
        raise _Fail(str(where), exc.strerror or str(exc)) from None


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        click.echo(clean(msg), err=True)


def _max_pixels_option(func):
    return click.option("--max-pixels", type=click.IntRange(min=1), default=None, metavar="N",
                        help="decoding budget in pixels (default: limits.DEFAULT_MAX_PIXELS).")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linr")
def cli() -> None:
    """linr: lossless image coding with a neural network as the payload."""


# -- many inputs -------------------------------------------------------------------

def _expand(inputs, exts, what) -> list:
    """Files named, and the files of the folders named (not recursive), in order."""
    out = []
    for item in inputs:
        if item != "-" and os.path.isdir(item):
            found = sorted(p for p in Path(item).iterdir() if p.suffix.lower() in exts and p.is_file())
            if not found:
                raise _Fail(item, f"no {what} files in this folder")
            out += [str(p) for p in found]
        else:
            out.append(item)
    return out


def _plan(inputs, dst, outdir, exts, what, suffix_for):
    """(sources, outputs) for the single and the many-inputs forms."""
    if outdir is not None:
        srcs = list(inputs) + ([dst] if dst is not None else [])
        if not srcs:
            raise click.UsageError("no inputs")
        srcs = _expand(srcs, exts, what)
        if "-" in srcs:
            raise click.UsageError("- (stdin) cannot be one of many inputs")
        if not os.path.isdir(outdir):
            raise _Fail(outdir, "output folder does not exist")
        outs, seen = [], {}
        for s in srcs:
            o = os.path.join(outdir, Path(s).stem + suffix_for(s))
            if o in seen:
                raise _Fail(s, f"same output name as {seen[o]} ({o})")
            seen[o] = s
            outs.append(o)
        return srcs, outs
    if dst is None or len(inputs) != 1:
        if len(inputs) > 1 or (len(inputs) == 1 and os.path.isdir(inputs[0])):
            raise click.UsageError("many inputs or a folder need -o OUTDIR")
        raise click.UsageError("expected SRC DST (or inputs with -o OUTDIR)")
    if os.path.isdir(inputs[0]):
        raise click.UsageError("a folder input needs -o OUTDIR")
    return list(inputs), [dst]


def _where(path) -> str:
    return "stdin" if path == "-" else str(path)


@cli.command()
@click.argument("inputs", nargs=-1, metavar="SRC [DST] | INPUTS... -o OUTDIR")
@click.option("-o", "--output-dir", "outdir", type=click.Path(file_okay=False), default=None,
              help="write INPUTS (files or folders) to OUTDIR/NAME.linr.")
@click.option("--effort", type=click.IntRange(0, MAX_EFFORT), default=DEFAULT_EFFORT,
              show_default=True, help="0 = prior only (fast) .. 9 = most fitting.")
@click.option("--prior", default="auto", show_default=True,
              help="auto, none, or a prior name (see `linr priors`).")
@click.option("--mode", type=click.Choice(["smallest", "ber0"]), default="smallest", show_default=True,
              help="smallest file, or the paper's fit-until-no-bit-is-wrong.")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="where fitting runs; decoding always runs on the CPU.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="worker processes for many inputs (default: all cores).")
@click.option("--force", is_flag=True, help="overwrite outputs that exist.")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar or summary.")
def encode(inputs, outdir, effort, prior, mode, seed, device, jobs, force, quiet):
    """Encode an image SRC (PNG, TIFF, PGM/PPM...; - for stdin) into DST.linr (- for stdout)."""
    from . import codec, imageio
    dst = inputs[-1] if outdir is None and len(inputs) == 2 else None
    srcs, outs = _plan(inputs[:-1] if dst is not None else inputs, dst, outdir, IMAGE_EXTS,
                       "image", lambda s: ".linr")
    for s, o in zip(srcs, outs):
        _guard(o, imageio.check_output, o, force, srcs)
    options = dict(effort=effort, prior=prior, mode=mode, seed=seed, device=device)
    t0 = time.perf_counter()
    images = [_guard(_where(s), imageio.read_image, s) for s in srcs]
    if len(srcs) == 1 and outdir is None:
        datas = [_guard(_where(srcs[0]), codec.encode, images[0], progress=not quiet, **options)]
    else:
        from . import batch
        datas = _guard("encode", batch.encode_many, images, jobs=jobs, **options)
    for s, o, image, data in zip(srcs, outs, images, datas):
        _guard(o, imageio.write_bytes, o, data, force, srcs)
        bpp = 8 * len(data) / (image.shape[0] * image.shape[1])
        if o != "-":
            _say(quiet, f"{_where(s)} -> {o}: {len(data)} bytes, {bpp:.3f} bpp")
    _say(quiet or len(srcs) == 1, f"{len(srcs)} images in {time.perf_counter() - t0:.2f} s")


def _check_budget(where, data, max_pixels):
    """Refuse before decoding when the header declares more pixels than the budget."""
    from . import codec
    meta = _guard(where, codec.info, data)
    if max_pixels is not None and meta["width"] * meta["height"] > max_pixels:
        raise _Fail(where, f"image of {meta['width']}x{meta['height']} exceeds the decoding budget of "
                           f"{max_pixels} pixels (raise it with --max-pixels)")


@cli.command()
@click.argument("inputs", nargs=-1, metavar="SRC [DST] | INPUTS... -o OUTDIR")
@click.option("-o", "--output-dir", "outdir", type=click.Path(file_okay=False), default=None,
              help="write INPUTS (.linr files or folders) to OUTDIR/NAME.EXT.")
@click.option("--format", "fmt", default="png", show_default=True,
              help="output format with -o: png, tif, pgm, ppm...")
@_max_pixels_option
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="worker processes for many inputs (default: all cores).")
@click.option("--force", is_flag=True, help="overwrite outputs that exist.")
@click.option("-q", "--quiet", is_flag=True)
def decode(inputs, outdir, fmt, max_pixels, jobs, force, quiet):
    """Decode SRC.linr (- for stdin) into DST (format from its extension; - writes PNG to stdout)."""
    from . import imageio
    ext = "." + fmt.lower().lstrip(".")
    dst = inputs[-1] if outdir is None and len(inputs) == 2 else None
    srcs, outs = _plan(inputs[:-1] if dst is not None else inputs, dst, outdir, (".linr",),
                       ".linr", lambda s: ext)
    for s, o in zip(srcs, outs):
        _guard(o, imageio.check_output, o, force, srcs)
    t0 = time.perf_counter()
    datas = [_guard(_where(s), imageio.read_linr_file, s) for s in srcs]
    if len(srcs) == 1 and outdir is None:
        images = [_guard(_where(srcs[0]), imageio.decode_data, datas[0], max_pixels)]
    else:
        from . import batch
        if max_pixels is not None:
            for s, d in zip(srcs, datas):
                _check_budget(s, d, max_pixels)
        extra = {"max_pixels": max_pixels} if max_pixels is not None and imageio._accepts(
            batch.decode_many, "max_pixels") else {}
        images = _guard("decode", batch.decode_many, datas, jobs=jobs, **extra)
    for s, o, image in zip(srcs, outs, images):
        _guard(o, imageio.write_image, o, image, force, srcs)
        if o != "-":
            _say(quiet, f"{_where(s)} -> {o}: {image.shape[1]}x{image.shape[0]}")
    _say(quiet or len(srcs) == 1, f"{len(srcs)} files in {time.perf_counter() - t0:.2f} s")


def _info(data, max_pixels):
    from . import codec, imageio
    if max_pixels is not None and imageio._accepts(codec.info, "max_pixels"):
        return codec.info(data, max_pixels=max_pixels)
    return codec.info(data)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, bytes):
        return obj.hex()
    if hasattr(obj, "item") and callable(obj.item):      # numpy scalars
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


@cli.command()
@click.argument("srcs", nargs=-1, required=True, metavar="SRC...")
@click.option("--json", "as_json", is_flag=True, help="print JSON (one object; a list for many files).")
@_max_pixels_option
def info(srcs, as_json, max_pixels):
    """Show what .linr files hold (- for stdin)."""
    from . import imageio
    metas = []
    for src in srcs:
        data = _guard(_where(src), imageio.read_linr_file, src)
        meta = _guard(_where(src), _info, data, max_pixels)
        metas.append((src, meta))
    if as_json:
        docs = [dict(_jsonable(m), file=_where(s)) for s, m in metas]
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, sort_keys=True))
        return
    for src, meta in metas:
        click.echo(_describe(clean(_where(src)), meta))


def _describe(name: str, meta: dict) -> str:
    """The human-readable summary; tolerant of fields a format version lacks."""
    g = meta.get
    lines = [f"{name}: {g('width')}x{g('height')}, {g('channels')} channel(s), "
             f"{g('bit_depth')}-bit ({g('dtype')})" + (f", {g('color_order')}" if g("color_order") else "")]
    m = g("model") or {}
    kind = {True: "conditioned ", False: "unconditioned "}.get(m.get("context"), "")
    lines.append(f"  model: {kind}{m.get('activation', '?')} MLP, {m.get('layers', '?')} x "
                 f"{m.get('hidden', '?')} hidden, {m.get('parameters', '?')} parameters")
    prior = f"{g('prior')} ({g('prior_tag')})" if g("prior") else f"none (seed {g('seed')})"
    lines.append(f"  prior: {prior}; delta tensors: {g('delta_tensors')}")
    chunks = ", ".join(f"{k} {v}" for k, v in (g("chunks") or {}).items())
    bpp = g("bpp")
    lines.append(f"  {g('bytes')} bytes (chunk data: {chunks}); "
                 + (f"{bpp:.3f} bpp" if isinstance(bpp, (int, float)) else "? bpp"))
    return "\n".join(lines)


@cli.command(name="priors")
def list_priors():
    """List the installed priors."""
    from . import priors
    for p in priors.available():
        c = p.cfg
        click.echo(f"{p.name:12s} id {p.pid}  {c.channels} ch  {c.layers}x{c.hidden} {c.activation}  "
                   f"{p.size} bytes  sha256 {p.digest.hex()[:16]}")


@cli.command()
@click.option("-q", "--quiet", is_flag=True)
def demo(quiet):
    """Encode, decode and check bundled samples; compare with PNG."""
    import cv2
    import numpy as np

    from . import codec, imageio
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


# -- entry point -------------------------------------------------------------------

def _on_sigint(signum, frame):
    # Ignore further Ctrl-C while the first one unwinds (temporary files are removed).
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    raise KeyboardInterrupt


def _error(msg: str) -> None:
    try:
        click.echo(clean(msg), err=True)
    except Exception:
        pass


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except Exception:
        pass


def _run(argv) -> int:
    from .errors import LinrError
    try:
        rv = cli.main(args=argv, prog_name="linr", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except _Fail as exc:
        _error(f"linr: {exc.where}: {exc}")
        if "broken pipe" in str(exc):
            _silence_stdout()
        return exc.code
    except click.exceptions.Abort:
        _error("linr: interrupted")
        return 130
    except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return 0
    except click.ClickException as exc:
        _error(f"linr: {exc.format_message()}")
        return 2
    except LinrError as exc:           # raised outside a _guard: still the user's input
        _error(f"linr: {exc}")
        return 1
    except MemoryError:
        _error("linr: out of memory: image too large for this machine")
        return 1
    except BrokenPipeError:
        _silence_stdout()
        _error("linr: broken pipe (stdout closed)")
        return 1


def main(argv: Optional[list] = None) -> int:
    """The `linr` command; returns the exit code (0, 1 input, 2 usage, 3 internal, 130 Ctrl-C)."""
    previous = None
    try:
        try:
            previous = signal.signal(signal.SIGINT, _on_sigint)
        except (ValueError, OSError):     # not the main thread
            previous = None
        try:
            return _run(argv)
        except KeyboardInterrupt:
            _error("linr: interrupted")
            return 130
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # a bug: still one line, no traceback
            _error(f"linr: internal error (please report): {type(exc).__name__}: {exc}")
            return 3
    except KeyboardInterrupt:             # Ctrl-C while reporting
        return 130
    finally:
        if previous is not None:
            try:
                signal.signal(signal.SIGINT, previous)
            except (ValueError, OSError):
                pass


if __name__ == "__main__":
    sys.exit(main())
