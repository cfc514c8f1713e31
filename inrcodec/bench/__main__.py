"""Command line: ``python -m inrcodec.bench run DATASET ...``, ``... plot FILES... -o out.png``,
``... table FILES...`` and ``... speed IMAGES...`` (the command line's own times, bench/speed.py).

The same commands are ``linr bench run ...`` / ``linr bench plot ...``: the linr CLI forwards its
arguments to :func:`main`.  Results go to the current directory (or ``--out-dir``).

Exit codes: 0 all good, 1 a codec failed its bit-exact round trip, 2 bad
usage or missing data (printed as one line ``bench: ...``), 130 interrupted.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import click

from . import BenchError
from .codecs import CLASSICAL, make_codec, parse_options
from .datasets import load
from .run import MismatchError, load_results, markdown_table, run_benchmark, runs_table

PROG = "python -m inrcodec.bench"


def require(module: str, what: str, alternative: str) -> None:
    """Fail at the start, in one line, when an optional dependency is missing."""
    if importlib.util.find_spec(module) is None:
        raise BenchError(f"{module} is not installed; pip install 'linr[bench]' or {alternative}"
                         f" ({module} is needed for {what})")


def default_name(dataset: str, limit, offset, crop, linr_options: dict) -> str:
    """Run name from the dataset and the options, e.g. ``mnist-n200`` or ``kodak-crop128``."""
    parts = [Path(dataset).name or "images"]
    parts += [f"off{offset}"] if offset else []
    parts += [f"n{limit}"] if limit is not None else []
    parts += [f"crop{crop}"] if crop else []
    parts += [f"{k}={v}" for k, v in sorted(linr_options.items())]
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", "-".join(parts))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Lossless bits-per-pixel and speed benchmark of linr against classical codecs."""


@cli.command()
@click.argument("dataset")
@click.option("--data", help="Folder (or IDX file) to read the named dataset from.")
@click.option("--limit", type=click.IntRange(min=1), help="Use at most N images.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Skip the first K images.")
@click.option("--crop", type=click.IntRange(min=1), help="Centre crop SxS (smaller dimensions kept whole).")
@click.option("--codecs", "codec_list", help=f"Comma list from {','.join(CLASSICAL)},linr "
              "(jpegxl-eN: any effort 1..10) [default: all].")
@click.option("--linr-opt", "linr_opts", multiple=True, metavar="KEY=VALUE",
              help="Option for inrcodec.encode (repeatable; int/float/true/false/str).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Passed to linr as device=.")
@click.option("--name", help="Run name [default: from dataset and options].")
@click.option("--out-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for <name>.json/.md/.jsonl/.png (created if needed).")
@click.option("--resume/--no-resume", default=False, show_default=True,
              help="Reuse per-image results cached in <name>.jsonl by an earlier run.")
@click.option("--keep-going", is_flag=True, help="Record round-trip mismatches instead of stopping (still exits 1).")
@click.option("--plot/--no-plot", default=True, show_default=True, help="Also write <name>.png.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def run(dataset, data, limit, offset, crop, codec_list, linr_opts, device, name, out_dir, resume,
        keep_going, plot, quiet):
    """Benchmark DATASET (mnist, mnist-train, fashion-mnist, kodak, img16, pngsuite or a folder)."""
    linr_options = parse_options(linr_opts)
    if device:
        linr_options["device"] = device

    if plot:
        require("matplotlib", "the plots", "use --no-plot")
    names = [c.strip() for c in codec_list.split(",") if c.strip()] if codec_list else [*CLASSICAL, "linr"]
    if len(set(names)) != len(names):
        raise BenchError(f"codec listed twice in --codecs {codec_list}")
    codecs = [make_codec(n, linr_options) for n in names]  # a missing imagecodecs is reported here

    images = list(load(dataset, data=data, limit=limit, offset=offset, crop=crop))
    if not images:
        raise BenchError(f"no images selected from {dataset} (check --offset/--limit)")

    name = name or default_name(dataset, limit, offset, crop, linr_options)
    result = run_benchmark(
        images, codecs, name=name, out_dir=Path(out_dir), resume=resume, keep_going=keep_going,
        quiet=quiet, plot=plot, command=COMMAND,
        dataset={"name": dataset, "data": data, "limit": limit, "offset": offset, "crop": crop},
        options={"codecs": names, "linr": linr_options, "resume": resume, "keep_going": keep_going},
    )
    click.echo(markdown_table(result), nl=False)
    click.echo(f"bench: wrote {Path(out_dir) / name}.json (.md, .jsonl{', .png' if plot else ''})", err=True)
    if result["failed"]:
        click.echo("bench: FAILED: some codecs did not round-trip exactly (see MISMATCH rows)", err=True)
        return 1
    return 0


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", default="plot.png", show_default=True, help="PNG to write.")
def plot(files, output):
    """Plot one or several result JSON files together."""
    require("matplotlib", "the plots", "plot elsewhere")
    from .plot import plot_results

    try:
        written = plot_results(load_results(files), output)
    except (ValueError, KeyError, TypeError) as e:
        raise BenchError(f"not a bench result file ({type(e).__name__}: {e})") from None
    click.echo(f"bench: wrote {written}", err=True)
    return 0


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--bytes", "total_bytes", is_flag=True,
              help="Total bytes of the images each codec measured instead of mean bpp.")
def table(files, total_bytes):
    """One markdown table of several result JSON files: a row a run, a column a codec."""
    try:
        click.echo(runs_table(load_results(files), total_bytes=total_bytes), nl=False)
    except (ValueError, KeyError, TypeError) as e:
        raise BenchError(f"not a bench result file ({type(e).__name__}: {e})") from None
    return 0


@cli.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--repeat", type=click.IntRange(min=1), default=3, show_default=True,
              help="New processes per measurement (the median is reported).")
@click.option("--load", type=click.IntRange(min=0), default=0, show_default=True,
              help="CPU-bound processes kept running meanwhile (a busy machine).")
@click.option("--preview", type=click.IntRange(min=2), metavar="N",
              help="Also time `linr decode --scale 1/N` (N a power of two).")
@click.option("--no-jpegxl", is_flag=True, help="Do not time JPEG-XL e9 beside linr.")
@click.option("--name", default="speed", show_default=True, help="Run name.")
@click.option("--out-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for <name>.json/.md (created if needed).")
def speed(images, repeat, load, preview, no_jpegxl, name, out_dir):
    """Time `linr encode` and `linr decode` of IMAGES as new processes, beside JPEG-XL e9."""
    from .speed import markdown, run_speed
    if preview and preview & (preview - 1):
        raise BenchError(f"--preview {preview} is not a power of two")
    if not no_jpegxl:
        require("imagecodecs", "JPEG-XL", "use --no-jpegxl")
    result = run_speed([Path(p) for p in images], repeat=repeat, load=load, preview=preview, jxl=not no_jpegxl,
                       name=name, out_dir=Path(out_dir), command=COMMAND)
    click.echo(markdown(result), nl=False)
    click.echo(f"bench: wrote {Path(out_dir) / name}.json (.md)", err=True)
    return 0


COMMAND: list[str] = []  # the command line, recorded in the results


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """Entry point; returns the exit code instead of calling sys.exit.

    ``prog`` is the command name shown in help and recorded in the results (``linr bench``
    when called from the linr CLI).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    argv = argv or ["--help"]  # a bare command shows the help
    COMMAND[:] = [*prog.split(), *argv]
    try:
        code = cli.main(args=argv, prog_name=prog, standalone_mode=False)
        return code if isinstance(code, int) else 0
    except BenchError as e:
        click.echo(f"bench: {e}", err=True)
        return 1 if isinstance(e, MismatchError) else 2
    except click.ClickException as e:
        click.echo(f"bench: {e.format_message()}", err=True)
        return 2
    except (KeyboardInterrupt, click.Abort):
        click.echo("bench: interrupted (rerun with --resume to reuse finished images)", err=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
