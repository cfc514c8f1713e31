"""The `linr` command line: a thin wrapper over the Python API.

Every failure is one line on stderr (`linr: FILE: what went wrong`, control
characters in names escaped) and a non-zero exit code: 1 for bad input or
files, 2 for usage, 3 for internal errors (a bug: please report it), 130 when
interrupted (Ctrl-C at any moment: no traceback, no partial output file).
A warning (metadata that an input or an output format cannot carry) is one
line too, `linr: FILE: message`, hidden by -q; it does not change the exit code.

`-` is stdin for an input and stdout for an output (`linr encode - out.linr`,
`linr decode in.linr -` writes PNG, `linr info -`). Many inputs, or folders,
go with `-o OUTDIR` (and `--jobs N`): `linr encode a.png b.png -o out/`. Each
output is written as soon as it is ready; a bad input is reported on its line
and the others go on, the exit code (1) telling at the end. Outputs are all
checked (exists, --force, the input itself) before any work starts.

The files are read, coded and written by imageio (encode_image_file,
decode_linr_file, write_bytes), the same for one file as for many.
"""
from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Optional

import click

from . import __version__, interrupt
from .cli_jobs import USER_ERRORS, decode_job, encode_job, run_each
from .errors import LinrError
from .limits import DEFAULT_EFFORT, DEFAULT_MAX_PIXELS, MAX_EFFORT
from .training import DEFAULTS as TRAIN_DEFAULTS     # no torch: imported only to train
from .validate import FILTER_CHOICES, PALETTE_CHOICES

IMAGE_EXTS = (".png", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".pam", ".pbm", ".bmp", ".dib",
              ".jpg", ".jpeg", ".webp", ".jp2", ".ras", ".sr")


class _Fail(Exception):
    def __init__(self, where: str, message: str, code: int = 1):
        super().__init__(message)
        self.where, self.code = where, code


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text) -> str:
    """One printable line: control characters (newlines included) escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1] if m.group() not in "\u2028\u2029"
                        else f"\\u{ord(m.group()):04x}", str(text))


def _message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory: image too large for this machine"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    # an error whose advice differs for the command line (priors: --prior, not prior=)
    return getattr(exc, "cli_message", None) or str(exc)


def _guard(where, func, *args, **kwargs):
    """Run func, turning any failure a user can cause into a one-line _Fail about `where`
    (or the file the error names, exc.path)."""
    try:
        return func(*args, **kwargs)
    except USER_ERRORS as exc:
        raise _Fail(getattr(exc, "path", None) or str(where), _message(exc)) from None


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        click.echo(clean(msg), err=True)


def _report(where, exc: BaseException) -> None:
    """One file's failure, on one line; the command goes on with the next file."""
    message = _message(exc)
    _error(f"linr: {getattr(exc, 'path', None) or where}: {message}")
    if "broken pipe" in message:
        _silence_stdout()


def _max_pixels_option(help_text):
    return click.option("--max-pixels", type=click.IntRange(min=1), default=None, metavar="N",
                        help=help_text)


def _group_size_option(ctx, param, value):
    """--group-size: auto (None: the encoder's default), N or WxH (checked by the encoder)."""
    if value == "auto":
        return None
    parts = value.lower().split("x")
    if len(parts) > 2 or not all(p.isdigit() for p in parts):
        raise click.BadParameter(f"{value!r} is not auto, a side N or WxH")
    sides = tuple(int(p) for p in parts)
    return sides[0] if len(sides) == 1 else sides


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linr")
@click.option("--threads", type=click.IntRange(1, 4096), default=None, envvar="LINR_THREADS",
              help="threads linr may use at once: its workers, torch and BLAS "
                   "[default: LINR_THREADS, else the machine's cores]")
def cli(threads) -> None:
    """linr: lossless image coding with a neural network as the payload."""
    from .allocator import keep_freed_memory
    keep_freed_memory()
    if threads is not None:
        from . import threads as budget
        budget.configure(threads)
        budget.limit_libraries(threads)


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
        _make_folder(outdir)
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


def _make_folder(outdir) -> None:
    """The output folder of -o, created (with its parents) if missing."""
    if os.path.isdir(outdir):
        return
    if os.path.lexists(outdir):
        raise _Fail(outdir, "not a folder (-o takes the folder to write into)")
    try:
        os.makedirs(outdir)
    except OSError as exc:
        raise _Fail(outdir, f"cannot create the output folder: {exc.strerror or exc}") from None


def _beside(src: str, ext: str) -> str:
    """The default output of a single input: SRC with ext in place of its extension."""
    return os.path.splitext(src)[0] + ext


def _single_default(inputs, outdir, ext):
    """`linr encode solo.png` / `linr decode solo.linr`: the output goes beside the input."""
    if outdir is None and len(inputs) == 1 and inputs[0] != "-" and not os.path.isdir(inputs[0]):
        return (inputs[0], _beside(inputs[0], ext))
    return inputs


def _image_name_refused(dst, force: bool) -> None:
    """A .linr stream is not written under another image format's extension (a .png that
    no viewer opens), unless --force."""
    from .pixels import CHANNELS_OK, LOSSY
    if dst == "-" or force:
        return
    ext = os.path.splitext(str(dst))[1].lower()
    if ext in IMAGE_EXTS or ext in LOSSY or ext in CHANNELS_OK:
        raise _Fail(dst, f"encode writes a .linr stream, not a {ext} image: name the output "
                         f".linr (or pass --force to write it under this name)")


def _where(path) -> str:
    return "stdin" if path == "-" else str(path)


def _warn_all(where, messages, quiet: bool) -> None:
    """The warnings of one file, one line each, `linr: WHERE: message` (hidden by -q)."""
    for message in messages or ():
        _say(quiet, f"linr: {where}: {message}")


@cli.command()
@click.argument("inputs", nargs=-1, metavar="SRC [DST] | INPUTS... -o OUTDIR")
@click.option("-o", "--output-dir", "outdir", type=click.Path(file_okay=False), default=None,
              help="write INPUTS (files or folders) to OUTDIR/NAME.linr (OUTDIR is created "
                   "if missing).")
@click.option("--effort", type=click.IntRange(0, MAX_EFFORT), default=DEFAULT_EFFORT,
              show_default=True, help="encoding time for size: 0 = rank the priors only, no "
                                      "fitting (fastest) .. 9 = most fitting; from 2^18 pixels "
                                      f"the default {DEFAULT_EFFORT} and 3 fit as 4 does.")
@click.option("--prior", default="auto", show_default=True,
              help="auto (the cheapest for the image of the built-in priors and those on the "
                   "search path), none (a seeded network), a prior NAME (built-in, see `linr "
                   "priors`, or NAME.linrp on LINR_PRIOR_PATH, then ~/.local/share/linr/priors) "
                   "or a FILE.linrp.")
@click.option("--strip", is_flag=True, help="drop metadata (ICC profile, EXIF, XMP, text).")
@click.option("--mode", type=click.Choice(["smallest", "ber0"]), default="smallest", show_default=True,
              help="smallest: the smallest file. ber0: the seed paper's operating point: fit the "
                   "whole network (from a seeded one unless --prior names a prior; no palette, "
                   "no size penalty, twice the steps) until no bit-plane decision is wrong, "
                   "whatever it costs in time and bytes.")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True,
              help="seed of the seeded network and of fitting's sampling: the same seed, image "
                   "and options give the same file.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="where fitting runs: auto and cpu fit on the CPU without torch, except what only torch "
                   "fits (--mode ber0, sine priors: CUDA when available); cuda fits with torch on the "
                   "GPU. Decoding always runs on the CPU.")
@click.option("--palette", type=click.Choice(PALETTE_CHOICES), default="auto", show_default=True,
              help="code images of at most 256 colours as indices into a colour table: when it "
                   "measures smaller (auto), never, or whenever the image qualifies (always). "
                   "auto also tries per-channel value tables (channels that use few of their "
                   "values); never keeps both off.")
@click.option("--filter", "filter_", type=click.Choice(FILTER_CHOICES),
              default="auto", show_default=True,
              help="code the image as the residuals of a raster predictor (left, up, or gradient "
                   "W + N - NW, per channel): auto ranks the one whose residuals are simplest, "
                   "where they are much simpler than the image (ramps, pixels repeated), on images "
                   "of up to 2^18 pixels and keeps it when it ranks cheaper; never; or always the "
                   "one named.")
@click.option("--group-size", default="auto", show_default=True, callback=_group_size_option,
              help="the independent groups the image is coded in: auto (up to 1024x1024, of equal "
                   "size; an 8-bit image of 2^18 pixels or more cut in two at least), a side N or WxH, "
                   "multiples of 32. Groups decode in parallel and alone; smaller groups use more "
                   "cores for a little rate.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="worker processes for many inputs.  [default: all cores]")
@click.option("--force", is_flag=True, help="overwrite outputs that exist; allow a DST named as "
                                            "another image format (.png, .tif...).")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar, summary or warnings.")
def encode(inputs, outdir, effort, prior, strip, mode, seed, device, palette, filter_, group_size, jobs, force,
           quiet):
    """Encode an image SRC (PNG, TIFF, PGM/PPM, BMP, JPEG, WebP; - for stdin) into DST
    (- for stdout); without DST, into SRC's name with .linr for its extension, beside it.

    Colour is stored in R, G, B (, A) order and metadata (ICC, EXIF, XMP,
    text) travels in ancillary chunks unless --strip. With many inputs, each
    output is written when it is ready; a bad input is reported and the
    others go on (exit code 1 at the end)."""
    from . import imageio
    inputs = _single_default(inputs, outdir, ".linr")
    dst = inputs[-1] if outdir is None and len(inputs) == 2 else None
    srcs, outs = _plan(inputs[:-1] if dst is not None else inputs, dst, outdir, IMAGE_EXTS,
                       "image", lambda s: ".linr")
    for o in outs:
        _guard(o, imageio.check_output, o, force, srcs)
    if dst is not None:
        _image_name_refused(dst, force)
    one = len(srcs) == 1 and outdir is None
    # OpenCV's B, G, R arrays; the file states R, G, B
    options = dict(effort=effort, prior=prior, mode=mode, seed=seed, device=device, palette=palette,
                   filter=filter_, group_size=group_size, color_order="bgr", keep_metadata=not strip,
                   progress=one and not quiet)
    t0, failed = time.perf_counter(), 0
    output_of = dict(zip(srcs, outs))
    from .quiet import line_progress
    with line_progress(clean(f"encode {_where(srcs[0])}") if one else "encode", options["progress"]), \
            closing(run_each(encode_job, [(s, options) for s in srcs], jobs)) as results:
        for (s, _), done, exc in results:
            o = output_of[s]
            _warn_all(_where(s), done[2] if done else getattr(exc, "warnings", ()), quiet)
            if exc is None:
                data, pixels, _ = done
                exc = _write(o, data, force, srcs)
            if exc is not None:
                _report(_where(s), exc)
                failed += 1
            elif o != "-":
                _say(quiet, f"{_where(s)} -> {o}: {len(data)} bytes, {8 * len(data) / pixels:.3f} bpp")
    _say(quiet or one, _summary(len(srcs), failed, "images", time.perf_counter() - t0))
    return 1 if failed else 0


def _write(dst, data: bytes, force: bool, srcs):
    """Write one output; the error, named by dst, if that fails."""
    from .imageio import write_bytes
    try:
        write_bytes(dst, data, force, srcs)
    except USER_ERRORS as exc:
        if getattr(exc, "path", None) is None:
            exc.path = dst
        return exc
    return None


def _scale(text: str) -> int:
    """--scale 1/N (or 1) as the reduce factor N, a power of two."""
    match = re.fullmatch(r"\s*1\s*(?:/\s*(\d{1,6}))?\s*", text)
    n = int(match.group(1) or 1) if match else 0
    if n < 1 or n & (n - 1) or n > 1 << 16:
        raise click.BadParameter(f"{text!r}: give 1/N with N a power of two (1/2, 1/4, 1/8, ...)",
                                 param_hint="--scale")
    return n


def _region(text):
    """--region X,Y,W,H as decode's region (x, y, width, height)."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,9})\s*,\s*(\d{1,9})\s*,\s*(\d{1,9})\s*,\s*(\d{1,9})\s*", text)
    if not match or int(match.group(3)) < 1 or int(match.group(4)) < 1:
        raise click.BadParameter(f"{text!r}: give X,Y,W,H (the rectangle's corner, width and height "
                                 "in pixels, W and H at least 1)", param_hint="--region")
    return tuple(int(g) for g in match.groups())


def _summary(count: int, failed: int, what: str, seconds: float) -> str:
    done = count - failed
    return (f"{done} {what if done != 1 else what[:-1]} in {seconds:.2f} s"
            + (f"; {failed} failed" if failed else ""))


@cli.command()
@click.argument("inputs", nargs=-1, metavar="SRC [DST] | INPUTS... -o OUTDIR")
@click.option("-o", "--output-dir", "outdir", type=click.Path(file_okay=False), default=None,
              help="write INPUTS (.linr files or folders) to OUTDIR/NAME.EXT (OUTDIR is created "
                   "if missing).")
@click.option("--format", "fmt", default="png", show_default=True,
              help="output format with -o or without DST: png, tif, pgm, ppm...")
@_max_pixels_option("decoding budget: refuse images of more pixels.  "
                    f"[default: {DEFAULT_MAX_PIXELS} (2^{DEFAULT_MAX_PIXELS.bit_length() - 1})]")
@click.option("--prior", "prior_file", default=None, metavar="FILE.linrp",
              help="a prior the files need that is not built in nor on the search path "
                   "(LINR_PRIOR_PATH, then ~/.local/share/linr/priors).")
@click.option("--strip", is_flag=True, help="do not write the file's metadata (ICC profile, EXIF, "
                                            "XMP, text) into PNG or TIFF outputs.")
@click.option("--scale", default="1", show_default=True, metavar="1/N",
              help="a preview: every N-th row and column (N a power of two), exactly, decoded "
                   "from the first passes alone (not checked against the image's hash).")
@click.option("--region", default=None, metavar="X,Y,W,H",
              help="only the W x H rectangle at column X, row Y (of the --scale preview's pixels "
                   "in it), decoded from the groups it meets alone (not checked against the "
                   "image's hash).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="worker processes for many inputs.  [default: all cores]")
@click.option("--force", is_flag=True, help="overwrite outputs that exist.")
@click.option("-q", "--quiet", is_flag=True, help="no summary or warnings.")
def decode(inputs, outdir, fmt, max_pixels, prior_file, strip, scale, region, jobs, force, quiet):
    """Decode SRC.linr (- for stdin) into DST (format from its extension; - writes PNG to
    stdout); without DST, into SRC's name with .png (or --format) for its extension, beside it.

    With many inputs, each output is written when it is ready; a bad input is
    reported and the others go on (exit code 1 at the end)."""
    from . import imageio
    ext = "." + fmt.lower().lstrip(".")
    inputs = _single_default(inputs, outdir, ext)
    dst = inputs[-1] if outdir is None and len(inputs) == 2 else None
    srcs, outs = _plan(inputs[:-1] if dst is not None else inputs, dst, outdir, (".linr",),
                       ".linr", lambda s: ext)
    for o in outs:
        _guard(o, imageio.check_output, o, force, srcs)
    options = dict(max_pixels=max_pixels, prior=prior_file, keep_metadata=not strip,
                   reduce=_scale(scale), region=_region(region))
    calls = [(s, o, options) for s, o in zip(srcs, outs)]
    t0, failed = time.perf_counter(), 0
    with closing(run_each(decode_job, calls, jobs)) as results:
        for (s, o, _), done, exc in results:
            # warnings are about what the output holds: named by it
            _warn_all(o, done[2] if done else getattr(exc, "warnings", ()), quiet)
            if exc is None:
                out, shape, _ = done
                exc = _write(o, out, force, srcs)
            if exc is not None:
                _report(_where(s), exc)
                failed += 1
            elif o != "-":
                _say(quiet, f"{_where(s)} -> {o}: {shape[1]}x{shape[0]}")
    _say(quiet or len(srcs) == 1, _summary(len(srcs), failed, "files", time.perf_counter() - t0))
    return 1 if failed else 0


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
@_max_pixels_option("refuse files whose image has more pixels, as decode does.  [default: no limit]")
def info(srcs, as_json, max_pixels):
    """Show what .linr files hold (- for stdin). A bad file is reported and the others
    shown (exit code 1 at the end)."""
    docs, failed = [], 0
    for src in srcs:
        try:
            meta = _file_info(src, max_pixels)
        except USER_ERRORS as exc:
            _report(_where(src), exc)
            failed += 1
            continue
        if as_json:
            docs.append(dict(_jsonable(meta), file=_where(src)))
        else:
            click.echo(_describe(clean(_where(src)), meta))
    if as_json and docs:
        click.echo(json.dumps(docs[0] if len(srcs) == 1 else docs, indent=2, sort_keys=True))
    return 1 if failed else 0


def _file_info(src, max_pixels) -> dict:
    """codec.info of a .linr file, refused (LimitError) when its image has more pixels than
    max_pixels (None: any)."""
    from . import codec
    from .errors import LimitError
    from .imageio import read_linr_file
    meta = codec.info(read_linr_file(src))
    if max_pixels is not None and meta["width"] * meta["height"] > max_pixels:
        raise LimitError(f"image of {meta['width']}x{meta['height']} exceeds the decoding budget of "
                         f"{max_pixels} pixels (raise it with --max-pixels)")
    return meta


def _describe(name: str, meta: dict) -> str:
    """The human-readable summary of codec.info's dict."""
    m = meta["model"]
    lines = [f"{name}: {meta['width']}x{meta['height']}, {meta['channels']} channel(s), "
             f"{meta['bit_depth']}-bit ({meta['dtype']}"
             + (f", stored as value + {meta['offset']}" if meta["offset"] is not None else "")
             + f"), {meta['color_order']}",
             f"  model: {m['activation']} MLP, {m['layers']} x {m['hidden']} hidden, "
             f"{m['parameters']} parameters"]
    if meta["prior_id"]:
        prior = f"{meta['prior'] or 'not installed'} (id {meta['prior_id']})"
    else:
        prior = f"none (seed {meta['seed']})"
    lines.append(f"  prior: {prior}; delta tensors: {meta['delta_tensors']}")
    if meta["palette"]:
        lines.append(f"  palette: {meta['palette']} colours, coded as indices")
    if meta.get("value_tables"):
        lines.append(f"  value tables: {', '.join(map(str, meta['value_tables']))} values a channel, "
                     "coded as indices")
    if meta.get("gray_copies"):
        lines.append("  gray copies: R, G and B are one gray channel, coded once")
    if meta.get("filter"):
        lines.append(f"  filter: {meta['filter']}, coded as its residuals")
    if meta["group_size"]:
        lines.append(f"  groups: {meta['groups']} of up to {meta['group_size'][0]}x{meta['group_size'][1]} pixels")
    if meta["metadata"]:
        lines.append("  metadata: " + ", ".join(f"{k} {v}" for k, v in meta["metadata"].items()))
    chunks = ", ".join(f"{k} {v}" for k, v in meta["chunks"].items())
    lines.append(f"  {meta['bytes']} bytes (chunk data: {chunks}); {meta['bpp']:.3f} bpp")
    return "\n".join(lines)


@cli.command(name="priors")
def list_priors():
    """List the installed priors."""
    from . import priors
    for p in priors.available():
        c = p.cfg
        click.echo(f"{p.name:12s} id {p.tag.hex()}  {c.channels} ch  {c.layers}x{c.hidden} {c.activation}  "
                   f"{p.size} bytes  sha256 {p.digest.hex()}")


@cli.command()
@click.option("-q", "--quiet", is_flag=True, help="no progress bars.")
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


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
             add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args):
    """Benchmark linr against PNG, WebP, JPEG 2000, JPEG-XL, JPEG-LS (linr bench --help)."""
    from .bench.__main__ import main as bench_main
    return bench_main(list(args), prog="linr bench")


@cli.group()
def prior():
    """Train and inspect priors (.linrp files)."""


@prior.command(name="train")
@click.argument("inputs", nargs=-1, required=True, metavar="IMAGE_OR_FOLDER...")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="the prior file to write (NAME.linrp).")
@click.option("--name", default=None, help="the prior's name [default: from the output file].")
@click.option("--hidden", type=click.IntRange(1, 256), default=TRAIN_DEFAULTS["hidden"], show_default=True,
              help="width of each hidden layer.")
@click.option("--layers", type=click.IntRange(1, 8), default=TRAIN_DEFAULTS["layers"], show_default=True,
              help="hidden layers.")
@click.option("--steps", type=click.IntRange(1, 10 ** 6), default=TRAIN_DEFAULTS["steps"], show_default=True,
              help="training steps.")
@click.option("--activation", type=click.Choice(["relu", "relu16"]), default=TRAIN_DEFAULTS["activation"],
              show_default=True, help="relu16: a network on a 16-bit grid (format 7), whose trunk the "
                                      "CPU's integer dot products run (several times faster to decode).")
@click.option("--validation", type=click.FloatRange(0.0, 0.5), default=0.2, show_default=True,
              help="fraction of the images held out to report the prior's cost.")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True,
              help="seed of the validation split, the starting network and the sampling.")
@click.option("--from", "start", default=None, metavar="auto|NAME|FILE.linrp",
              help="fine-tune a prior (auto: the built-in one that fits the images best) "
                   "instead of starting from a seeded network; its architecture is kept.")
@click.option("--force", is_flag=True, help="overwrite OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="no progress (the result and validation are printed).")
def prior_train(inputs, out, name, hidden, layers, steps, activation, validation, seed, start, force, quiet):
    """Train a prior on your own images (8 or 16 bits, gray or colour; all with the same
    number of channels), hold out a validation split and compare the result with the
    built-in priors and JPEG-XL on it."""
    import numpy as np

    from . import codec, imageio, priors, training
    from .quiet import line_progress
    from .channels import swap_rb
    _guard(out, imageio.check_output, out, force, ())
    files = _expand(inputs, IMAGE_EXTS, "image")
    images = [_guard(_where(f), imageio.read_image, f) for f in files]
    stage = "linr: prior train: "
    _say(quiet, f"{stage}read {len(images)} image{'s' if len(images) != 1 else ''}")
    # in the order encode stores colour (R, G, B), which is the order a prior models
    images = [swap_rb(im) if im.ndim == 3 and im.shape[2] >= 3 else im for im in images]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    n_val = int(round(validation * len(images))) if len(images) > 1 else 0
    val = [images[i] for i in order[:n_val]]
    train = [images[i] for i in order[n_val:]]
    name = name or Path(out).stem
    t0 = time.perf_counter()
    _say(quiet, f"{stage}training '{name}' on {len(train)} image{'s' if len(train) != 1 else ''} "
                f"({len(val)} held out for validation), {steps} steps")
    with interrupt.deferred(), line_progress("prior train", not quiet):    # Ctrl-C between torch steps
        data = _guard("train", training.train_prior, train, name=name, hidden=hidden, layers=layers,
                      activation=activation, steps=steps, seed=seed, progress=not quiet, start=start)
    _guard(out, imageio.write_bytes, out, data, force, ())
    p = priors.unpack(data)
    _say(False, f"wrote {out}: prior '{name}', {len(data)} bytes, id {p.tag.hex()}, trained on "
                f"{len(train)} images in {time.perf_counter() - t0:.0f} s")
    if not val:
        return
    pixels = sum(im.shape[0] * im.shape[1] for im in val)

    def bpp(**opts):
        with interrupt.deferred():               # Ctrl-C between kernel calls
            return 8 * sum(len(codec.encode(im, effort=0, color_order="rgb", **opts)) for im in val) / pixels
    others = [b for b in priors.available() if b.cfg.channels == p.cfg.channels]
    _say(quiet, f"{stage}validation: coding {len(val)} held-out image{'s' if len(val) != 1 else ''} "
                f"with the new prior and {len(others)} built-in one{'s' if len(others) != 1 else ''}")
    rows = [(f"{name} (new)", bpp(prior=data))]
    for b in others:
        rows.append((b.name, bpp(prior=b.name)))
    try:
        import imagecodecs
        rows.append(("JPEG-XL e9", 8 * sum(len(imagecodecs.jpegxl_encode(im, lossless=True, effort=9))
                                           for im in val) / pixels))
    except ImportError:
        pass
    _say(False, f"validation ({len(val)} held-out images), bits per pixel:")
    for label, v in rows:
        _say(False, f"  {label:24s} {v:8.3f}")


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
        _raw_error(msg)


def _raw_error(msg: str) -> None:
    """The line straight to file descriptor 2 (one system call, which no Python-level Ctrl-C
    splits), where click's echo failed or was interrupted."""
    try:
        os.write(2, (clean(msg) + "\n").encode("utf-8", "replace"))
    except OSError:
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
        _error(f"linr: {_message(exc)}")
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
            interrupt.check()             # a Ctrl-C noted while the command imported (entry.py)
            return _run(argv)
        except KeyboardInterrupt:
            _error("linr: interrupted")
            return 130
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # a bug: still one line, no traceback
            _error(f"linr: internal error (please report): {type(exc).__name__}: {exc}")
            return 3
    except KeyboardInterrupt:             # Ctrl-C while reporting, or before the inner try
        _raw_error("linr: interrupted")
        return 130
    finally:
        if previous is not None:
            try:
                signal.signal(signal.SIGINT, previous)
            except (ValueError, OSError):
                pass


if __name__ == "__main__":
    sys.exit(main())
