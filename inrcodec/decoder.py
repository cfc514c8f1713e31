"""The decoder: parse and check, rebuild the integer network, walk, verify.

Imports no torch. Work is bounded before it starts: the image must fit the
caller's pixel budget, and the coded data must be long enough for the
decisions the image needs (see DECISIONS_PER_BIT_LOG2, checked once the
constant-plane flags are read), so a tiny file cannot demand a long decode; a stream that runs out before the image is refused at
the first batch that finds it empty (the terminator guarantees a valid one
never does).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import container, priors, threads
from .backend import COMPILED, EMPTY, OK, OVER_BUDGET
from .channels import swap_rb_in_place
from .entropy import StreamReader
from .errors import FormatError, LimitError, LinrError
from .exact import check_weights
from .model import seeded_init
from .groups import unpack_streams
from .walker import (DELTA, FLAGS, MIX_FINE, PIXELS, Geometry, coded_decisions, learner_kind, stream_plan,
                     walk, walk_constants, walk_terminator)
from .wire import (SEEDED, Delta, Header, min_file_bytes, pixel_hash, read_delta_specs)

# The work bound: a file may hold at most (8 * len(D) + STREAM_SLACK_BITS) <<
# DECISIONS_PER_BIT_LOG2 decisions. With P1 clamped to [2**-10, 1 - 2**-10]
# and the terminator keeping the ANS state above zero, every decision grows
# the state by at least 2**24 * 2**-10 while it is below 2**25, i.e. costs
# at least 1/1024 bit; the bound leaves a factor 2 of margin. Format 13 clamps
# at 2**-13 (exact.FINE_K_MIN): at least 1/8192 bit, and 2**14 decisions a bit.
# (The file size rule, min_file_bytes, bounds every format's pixels and so its
# decisions at 64 * 2**10 a byte, 2**13 a bit, whatever the streams hold.)
STREAM_SLACK_BITS = 64
DECISIONS_PER_BIT_LOG2 = 11
FINE_DECISIONS_PER_BIT_LOG2 = 14


def parse(data: bytes, prior=None):
    """Container, header and base weights of a file (prior: an extra Prior to match)."""
    box = container.read(data)
    header = Header.unpack(box.get(container.HEADER), box.version)
    if header.prior == SEEDED:
        base = seeded_init(header.cfg, header.seed)
        name = None
    else:
        p = priors.find(header.prior, [prior] if prior is not None else [])
        if p.cfg != header.cfg:
            raise FormatError("header architecture differs from its prior's")
        base, name = list(p.weights), p.name
    return box, header, base, name


class StreamSink:
    """Decoder side of the walker: the bits come from the ANS stream, within a
    budget of decisions (the work bound). The flags and the terminator are popped
    here; the compiled kernels pop the pixels' decisions off the same stream state."""
    from_image = False

    def __init__(self, stream: StreamReader, budget: int):
        self.stream = stream
        self.budget = np.array([budget], np.int64)

    def ans(self) -> StreamReader:
        return self.stream

    def begin_chunk(self, p, start, learner) -> None:
        pass

    def raw(self, k, truth):
        self.check(self.spend(np.size(k)))
        return self.stream.bits(k)

    def spend(self, decisions: int) -> int:
        """Take `decisions` from the budget, as the kernels do; an error code."""
        if decisions and self.empty():
            return EMPTY
        self.budget[0] -= decisions
        return OVER_BUDGET if self.budget[0] < 0 else OK

    def check(self, err: int) -> None:
        if err == EMPTY:
            raise FormatError("coded data ends before the image does (corrupt or truncated file)")
        if err == OVER_BUDGET:
            raise FormatError("coded data is too short for the decisions it holds (corrupt file)")

    def empty(self) -> bool:
        return self.stream.empty()


def read_palette(box, header):
    """The file's Palette (checked against its header), or None."""
    raw = box.get(container.PALETTE)
    if raw is None:
        return None
    from .palette import Palette
    if header.image.signed:
        raise FormatError("a palette in a file of signed samples (header fields contradict each other)")
    palette = Palette.unpack(raw)
    palette.check_header(header.image)
    palette.output_info(header.image.height, header.image.width)   # the sample limit, before decoding
    return palette


def read_gray(box, header, palette):
    """The output's channel count of a file with gray copies (chunk G, checked against the
    image the palette gives, or the header's: value tables keep its channels), or None."""
    raw = box.get(container.GRAY)
    if raw is None:
        return None
    from . import gray
    coded = header.image if palette is None else palette.output_info(header.image.height, header.image.width)
    return gray.unpack(raw, coded)


def read_values(box, header):
    """The file's ValueTable (checked against its header), or None."""
    raw = box.get(container.VALUES)
    if raw is None:
        return None
    from .values import ValueTable
    values = ValueTable.unpack(raw, header.image.channels, box.version)
    values.check_header(header.image)
    return values


def read_filter(box, header, palette):
    """The file's Filter (chunk F, checked against the image it undoes: the palette's output,
    or the header's), or None."""
    raw = box.get(container.FILTER)
    if raw is None:
        return None
    from .filters import Filter
    if header.image.signed:
        raise FormatError("a filter in a file of signed samples (header fields contradict each other)")
    return Filter.unpack(raw, header.image.wide if palette is None else palette.wide)


def decode(data: bytes, *, max_pixels: int, prior=None, color_order=None, reduce: int = 1,
           region=None, backend=COMPILED) -> np.ndarray:
    """The image of a file; color_order None (the file's order), 'rgb' or 'bgr'.
    reduce (a power of two): only every reduce-th row and column, decoded from the
    coarse passes alone and exact, but not checked against the stored hash (it
    covers the whole image) nor for the streams' ends. region (x, y, width, height):
    only the pixels of that rectangle (of the preview's, with reduce), decoded from
    the groups it meets alone, not checked against the stored hash either.
    backend: the decision backend (tests pass oracle.ORACLE)."""
    box, header, base, _name = parse(data, prior)
    im, cfg = header.image, header.cfg
    palette = read_palette(box, header)
    value_table = read_values(box, header)
    copies = read_gray(box, header, palette)
    filt = read_filter(box, header, palette)
    if im.width * im.height > max_pixels:
        raise LimitError(f"image of {im.width}x{im.height} exceeds the decoding budget of "
                         f"{max_pixels} pixels (raise it with max_pixels= or --max-pixels)")
    rx, ry, rw, rh = _region(region, im, reduce)
    whole = (rx, ry, rw, rh) == (0, 0, im.width, im.height)
    cut = None
    if filt is not None and (reduce > 1 or not whole):
        # the passes hold residuals: a preview or a region is cut from the whole image
        cut = kept(ry, ry + rh, 0, im.height, reduce) + kept(rx, rx + rw, 0, im.width, reduce) + (reduce,)
        rx, ry, rw, rh, reduce, whole = 0, 0, im.width, im.height, 1, True
    coded = box.get(container.DATA)
    delta_data = box.get(container.DELTA)
    specs = {s.index: s for s in read_delta_specs(delta_data, cfg)} if delta_data is not None else {}
    plan = stream_plan(specs, im.height, im.width, header.group_size)
    streams = unpack_streams(coded, len(plan)) if header.group_size else [coded]
    job = _Job(data, header, base, specs, learner_kind(box.version), backend)
    pixel_streams = []
    for part, raw in zip(plan, streams):
        if part.group is None:
            job.run(part, raw)                      # format 5's delta stream: before every group
        else:
            pixel_streams.append((part, raw))       # (formats 2-4: its delta, then the pixels)
    if header.group_size or not specs:
        job.set_weights(job.delta)                  # formats 2-4 with a delta: set after it, at FLAGS
    dtype = np.uint16 if im.wide else np.uint8
    if len(pixel_streams) == 1 and reduce == 1 and whole:   # one group: its array is the image
        known = job.run(*pixel_streams[0])
    else:
        first_y, rows = kept(ry, ry + rh, 0, im.height, reduce)
        first_x, cols = kept(rx, rx + rw, 0, im.width, reduce)
        known = np.empty((rows, cols, im.channels), dtype)
        wanted = []
        for part, raw in pixel_streams:
            g = part.group
            y, ny = kept(ry, ry + rh, g.y0, g.height, reduce)
            x, nx = kept(rx, rx + rw, g.x0, g.width, reduce)
            if ny and nx:                           # a group the output takes no pixel of is not decoded
                wanted.append((part, raw, (y, ny, x, nx)))
        workers = min(threads.budget(), len(wanted))

        def one(item):
            part, raw, (y, ny, x, nx) = item
            g = part.group
            # a group's passes sample it at multiples of `step` from its corner: the coarsest
            # step that holds the image's multiples of reduce (groups start at multiples of 32)
            step = min(reduce, _low_bit(g.y0, reduce), _low_bit(g.x0, reduce))
            values = job.run(part, raw, step.bit_length() - 1, workers=1 if workers > 1 else None)
            k, ly, lx = reduce // step, (y - g.y0) // step, (x - g.x0) // step
            known[(y - first_y) // reduce:][:ny, (x - first_x) // reduce:][:, :nx] = \
                values[ly:ly + (ny - 1) * k + 1:k, lx:lx + (nx - 1) * k + 1:k]
        if workers > 1:
            # a group a thread, each walking without helpers: BLAS on one thread, or its
            # threads would spin against the other groups'
            with threads.one_blas_thread():
                threads.map_ordered(one, wanted)
        else:
            for item in wanted:
                one(item)
    checked = header.pixels if reduce == 1 and whole else None
    out = _output(known, im, palette, color_order, checked, value_table, copies, filt)
    if cut is None:
        return out
    y, rows, x, cols, step = cut
    return np.ascontiguousarray(out[y:y + (rows - 1) * step + 1:step, x:x + (cols - 1) * step + 1:step])


def kept(lo: int, hi: int, start: int, size: int, reduce: int) -> tuple:
    """The first row (or column) of [start, start + size) that a decode of [lo, hi) keeps, a
    multiple of reduce, and how many it keeps (0: none)."""
    first = -(-max(lo, start) // reduce) * reduce
    last = min(hi, start + size)
    return first, (0 if first >= last else (last - 1 - first) // reduce + 1)


def _low_bit(v: int, cap: int) -> int:
    """The largest power of two that divides v (cap for 0)."""
    return v & -v if v else cap


def _region(region, im, reduce: int) -> tuple:
    """A region's (x, y, width, height) in the image (the whole image for None), checked."""
    if region is None:
        return 0, 0, im.width, im.height
    x, y, w, h = region
    if x + w > im.width or y + h > im.height:
        raise LinrError(f"region {w}x{h} at ({x}, {y}) is outside the {im.width}x{im.height} image")
    if kept(y, y + h, 0, im.height, reduce)[1] == 0 or kept(x, x + w, 0, im.width, reduce)[1] == 0:
        raise LinrError(f"region {w}x{h} at ({x}, {y}) holds no pixel of the 1/{reduce} preview "
                        f"(its rows and columns are multiples of {reduce})")
    return x, y, w, h


class _Job:
    """The decoding of one file's streams: the delta's segments set the weights,
    a group's stream returns its values (every 2**last_level-th row and column of
    them for a preview)."""

    def __init__(self, data, header, base, specs, learner, backend):
        self.data, self.header, self.base, self.specs = data, header, base, specs
        self.learner, self.backend = learner, backend
        self.delta = Delta()
        self.weights = None

    def set_weights(self, delta) -> None:
        self.weights = delta.apply(self.base)
        check_weights(self.header.cfg, self.weights)

    def run(self, part, raw: bytes, last_level: int = 0, workers=None):
        im, cfg = self.header.image, self.header.cfg
        stream = StreamReader(raw)
        # every decision decoded while the stream is not empty costs more than
        # 2**-12 bit (format 13: 2**-15); once it is empty, the rest decode as 0 without work
        per_bit = FINE_DECISIONS_PER_BIT_LOG2 if self.learner == MIX_FINE else DECISIONS_PER_BIT_LOG2
        sink = StreamSink(stream, (8 * len(raw) + STREAM_SLACK_BITS) << per_bit)
        g = part.group
        known = None
        for seg in part.segments:
            if seg.kind == DELTA:
                shape = cfg.shapes()[seg.tensor]
                spec = self.specs[seg.tensor]
                q = stream.ints(int(np.prod(shape)), spec.k_nonzero, spec.k_more)
                self.delta.tensors[seg.tensor] = (spec.exponent, q.reshape(shape))
            elif seg.kind == FLAGS:
                if self.weights is None:
                    self.set_weights(self.delta)
                geom = Geometry(g.height, g.width, im.channels, im.bits, self.learner)
                const = walk_constants(None, geom, sink)
                decisions = coded_decisions(geom, const)
                if decisions and len(self.data) < min_file_bytes(im.width * im.height, cfg):
                    raise FormatError(f"file of {len(self.data)} bytes is too short for a {im.width}x"
                                      f"{im.height} image with coded planes under its network (work bound)")
                if decisions > sink.budget[0]:
                    raise FormatError(f"coded data ({len(raw)} bytes) is too short for the "
                                      f"{decisions} decisions the image needs (corrupt file)")
            elif seg.kind == PIXELS:
                known = walk(geom, cfg, self.weights, const, sink, self.backend,
                             dtype=np.uint16 if im.wide else np.uint8, last_level=last_level,
                             workers=workers)
                if last_level:
                    step = 1 << last_level
                    return np.ascontiguousarray(known[::step, ::step])
            else:
                try:
                    walk_terminator(sink)
                except ValueError:
                    raise FormatError("coded stream does not end with its terminator (corrupt file)") from None
        if not sink.empty():
            raise FormatError("coded stream has data left over (corrupt file)")
        return known


def _output(known, im, palette, color_order, pixels, value_table=None, copies=None, filt=None):
    """The caller's array from the walker's values: value tables, dtype, 2-D, palette, filter,
    colour order, gray copies (the output's channel count); checked against the stored hash
    `pixels` (None: a preview, not checked)."""
    im = dataclasses.replace(im, height=known.shape[0], width=known.shape[1])
    if value_table is not None:         # indices into each channel's values, in model order
        known = value_table.apply(known)
    # at most one copy of the image besides the walker's: the 8-bit cast; the
    # channel swap is in place and the 2-D view of a 1-channel image is free
    out = known.astype(np.uint16 if im.wide else np.uint8, copy=False)
    if im.plain2d:
        out = out.reshape(im.height, im.width)
    rgb_now = False                      # the walker's values are in model order, B, G, R
    if palette is not None:
        out, im = palette.apply(out), palette.output_info(im.height, im.width)
        rgb_now = im.order == "rgb"
    if filt is not None:                # per channel: before or after the channel swap alike
        out = filt.undo(out)
    colour = im.channels >= 3
    want_rgb = color_order == "rgb" or (color_order is None and im.order == "rgb")
    if colour and want_rgb != rgb_now:
        swap_rb_in_place(out)
    if im.signed:                       # value - offset in the same bits, wrapping: two's complement
        out -= out.dtype.type(im.offset)
        out = out.view(im.dtype)
    if copies is not None:              # gray (+ alpha) -> R = G = B (+ A): no colour order to swap
        from . import gray
        out, im = gray.expand(out, copies), gray.output_info(im, copies)
    if pixels is not None and pixel_hash(out, im, swapped=colour and want_rgb != (im.order == "rgb")) != pixels:
        raise FormatError("decoded pixels do not match the stored hash (corrupt file)")
    return np.ascontiguousarray(out)        # a copy only for a palette's 2-D view
