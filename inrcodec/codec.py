"""The public API: encode, decode, info (imagecodecs style).

    data = encode(image, effort=2, prior="auto")   # uint8/uint16, H x W (x C)
    image = decode(data)                             # the same array, bit for bit

encode checks its arguments, runs the encoder's search (encoder.py), writes
the file and decodes it again before returning anything. decode and info
never import torch.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from . import container, decoder, gray, validate
from .limits import DEFAULT_EFFORT, MAX_EFFORT
from .errors import LinrError
from .channels import swap_rb

__all__ = ["encode", "decode", "info", "DEFAULT_EFFORT", "MAX_EFFORT"]


def encode(image, /, *, effort: int = DEFAULT_EFFORT, prior="auto", mode: str = "smallest",
           seed: int = 0, device: str = "auto", hidden: Optional[int] = None,
           layers: Optional[int] = None, activation: Optional[str] = None,
           color_order: str = "given", metadata=None,
           progress: bool = False, verify: bool = True, palette: str = "auto",
           group_size=None, filter: str = "auto") -> bytes:
    """Encode an H x W or H x W x C (C = 1..4) uint8/uint16 array to .linr bytes.

    effort: 0 (rank the priors only, fastest) .. 9 (most fitting); at
    effort 2, images of 2**18 pixels or more get effort 4's steps and a delta
    on every layer. prior:
    'auto' (the cheapest installed prior for the image), 'none' (a seeded
    network), a built-in name, or a .linrp prior as bytes or a path. mode:
    'smallest' (default) or 'ber0' (always fit the whole network: the paper's
    operating point). hidden/layers/activation shape the network when no
    prior is used. color_order (colour images only): 'given' (the array's
    order, modelled as B, G, R), 'rgb' (the array is R, G, B and the file says
    so) or 'bgr' (the array is OpenCV's B, G, R, the file states R, G, B: the
    same bytes as 'rgb' with the channels swapped first). metadata: dict from
    inrcodec.metadata, stored in ancillary chunks. verify (default): decode
    the result and compare before returning it. palette: 'auto' (an image of at
    most 256 colours is coded as indices into a colour table when that measures
    cheaper; so is an unsigned image whose channels use few of their values, into a
    table per channel, format 6), 'never' (neither), or 'always' (a colour table
    whenever the image qualifies). group_size:
    the independent groups the image is coded in, a side or a (width, height)
    pair, multiples of 32 up to 65536. Default: groups of up to 1024 x 1024 of
    equal size, and an image of 2**18 pixels or more and at most 8 bits that
    would be one group cut in two: groups decode (and are written) in parallel,
    and smaller ones use more cores for a little rate. filter: 'auto' (an unsigned
    image of at most 2**18 pixels whose left, up or gradient residuals are much simpler
    than the image, such as a ramp, is coded as those residuals when that ranks cheaper,
    format 12: filters.candidates), 'never', or 'left' / 'up' / 'gradient' (always that
    filter).
    """
    from .encoder import check_round_trip, write
    image = validate.as_image(image)
    opts = validate.encode_options(effort=effort, prior=prior, mode=mode, seed=seed, device=device,
                                   hidden=hidden, layers=layers, activation=activation,
                                   progress=progress, verify=verify, palette=palette,
                                   group_size=group_size, filter=filter)
    if color_order not in ("given", "rgb", "bgr"):
        raise LinrError("color_order must be 'given', 'rgb' or 'bgr'")
    if image.ndim != 3 or image.shape[2] < 3:
        color_order = "given"          # gray and gray + alpha have no colour order
    original, offset = image, None
    if image.dtype.kind == "i":
        # signed samples (format 5): coded as value + offset in an unsigned image of the
        # same size, the offset the smallest that makes every value non-negative
        image, offset = signed_as_unsigned(image)
    copies = None
    if offset is None and isinstance(opts["prior"], str) and opts["prior"] in ("auto", "none"):
        copies = gray.copies_of(image)  # R = G = B: coded as gray (+ alpha), expanded when decoded
        if copies is not None:          # (a named prior is for the image's own channels)
            image, color_order = gray.reduced(image, copies), "given"
    swapped = color_order == "bgr"     # the array's R and B are the other way round from the file's
    file_order = "rgb" if swapped else color_order
    overrides = {k: opts[k] for k in ("hidden", "layers", "activation") if opts[k] is not None}
    prior = opts["prior"]
    if overrides and isinstance(prior, str) and prior == "auto":
        prior = "none"
    ancillary = []
    if metadata:
        from .metadata import to_chunks
        ancillary = to_chunks(metadata)
    settings = dict(effort=opts["effort"], prior=prior, mode=opts["mode"], seed=opts["seed"],
                    device=opts["device"], overrides=overrides, progress=opts["progress"],
                    group_size=opts["group_size"], copies=copies)
    from .filters import candidates, named
    forced = opts["filter"] not in ("auto", "never")
    if forced and offset is not None:
        raise LinrError("a filter needs unsigned samples")
    if forced:
        tried = [named(opts["filter"], image)]
    elif opts["filter"] == "auto" and offset is None and opts["mode"] != "ber0" and \
            isinstance(prior, str) and prior in ("auto", "none"):
        tried = candidates(image)
    else:
        tried = []
    enc = None if forced else _chosen(image, file_order, swapped, offset, settings, opts)
    for filt in tried:
        # the residual image takes the same search, a palette or value tables of its own included
        alt = _chosen(filt.apply(image), file_order, swapped, offset, {**settings, "filter": filt}, opts)
        if enc is None or alt.estimated_bits() < enc.estimated_bits():
            enc = alt
    plan = enc.run()
    data = write(plan, enc, ancillary)
    if opts["verify"]:
        given = enc.given_priors[0] if len(enc.given_priors) == 1 else None
        check_round_trip(original, decoder.decode(data, max_pixels=1 << 62, prior=given,
                                               color_order="bgr" if swapped else None))
    return data


def _chosen(image, file_order: str, swapped: bool, offset, settings: dict, opts: dict):
    """The encoder of `image` (the signed image's unsigned form, the gray copies' gray, a
    filter's residuals): directly, or as indices into a palette or value tables."""
    from .encoder import Encoder, prefetch_torch
    enc = Encoder(image, order=file_order, swapped=swapped, offset=offset, **settings)
    if enc.may_need_torch():
        prefetch_torch()        # imported while the candidates are ranked
    if opts["palette"] != "never" and opts["mode"] != "ber0" and offset is None:
        in_file_order = swap_rb(image) if swapped else image        # one copy for both transforms
        enc = _with_palette(enc, in_file_order, file_order, settings, opts["palette"] == "always")
        if opts["palette"] == "auto":
            enc = _with_values(enc, in_file_order, file_order, settings)
    return enc


def signed_as_unsigned(image: np.ndarray):
    """(the unsigned image of value + offset, offset) of an int8 / int16 image."""
    half = 1 << (8 * image.dtype.itemsize - 1)
    offset = max(0, -int(image.min()))
    top = (1 << (int(image.max()) + offset).bit_length()) - 1
    if top - offset >= half:       # the header's rule (linr.md section 2): every n-bit value must fit
        offset = half              # (values spanning almost the whole type: code all its bits)
    unsigned = image.view(np.dtype(f"u{image.dtype.itemsize}"))
    return unsigned + unsigned.dtype.type(offset), offset          # wraps: exact in two's complement


def _with_palette(direct, image, order: str, settings: dict, always: bool):
    """The encoder of the image's index image (palette.py; `image` in the file's
    colour order) when the image has few
    enough colours and, unless `always`, its ranked cost plus the colour table is
    below the direct one's; else `direct`."""
    from .encoder import Encoder
    from .palette import build
    prior = settings["prior"]
    if not (isinstance(prior, str) and prior in ("auto", "none")):
        return direct             # a named prior is for the image's own channels
    found = build(image, order)
    if found is None:
        return direct
    table, indices = found
    enc = Encoder(indices, order="given", palette=table, **settings)
    if always:
        return enc
    # the table alone may cost more than the image (small gray images): then nothing is ranked
    side, direct_bits = enc.side_bits(), direct.rank().bits
    return enc if side < direct_bits and enc.rank().bits + side < direct_bits else direct


def _with_values(chosen, image, order: str, settings: dict):
    """The encoder of the image's indices into per-channel value tables (values.py; `image`
    in the file's colour order) when each channel uses few enough of its values and the
    estimated size of the indices plus the tables (Encoder.estimated_bits) is below
    `chosen`'s; else `chosen`."""
    from .encoder import Encoder
    from .values import build
    found = build(image, order)
    if found is None:
        return chosen
    table, indices = found
    enc = Encoder(indices, order=order, values=table, output=image, **settings)
    return enc if enc.estimated_bits() < chosen.estimated_bits() else chosen


def _bytes(data) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise LinrError(f"expected the bytes of a .linr file, not {type(data).__name__}")
    return bytes(data)


def _prior_arg(prior):
    if prior is None:
        return None
    from .priors import load
    return load(validate._prior(prior))


def decode(data, /, *, max_pixels: Optional[int] = None, prior=None,
           color_order: Optional[str] = None, reduce: int = 1, region=None) -> np.ndarray:
    """Decode .linr bytes to the exact array that was encoded.

    color_order: None (the array as it was encoded), or 'rgb' / 'bgr' (colour
    images in that channel order, whatever the file states; gray ignores it).
    reduce: 1, or a power of two r: a preview of every r-th row and column
    (image[::r, ::r] exactly), decoded from the first passes alone, so it takes
    a fraction of the time; the stored hash covers the whole image, so a preview
    is not checked against it.
    region: None, or (x, y, width, height): only that rectangle of the image
    (image[y:y + height, x:x + width]; with reduce, the preview's pixels in it,
    image[::r, ::r] of the rows and columns inside), decoded from the groups it
    meets alone; not checked against the stored hash either.
    max_pixels: refuse images of more pixels (default limits.DEFAULT_MAX_PIXELS).
    prior: a .linrp prior (bytes or path) the file may need, besides the
    built-in ones and those on the search path.
    """
    if color_order not in (None, "rgb", "bgr"):
        raise LinrError("color_order must be None, 'rgb' or 'bgr'")
    if isinstance(reduce, bool) or not isinstance(reduce, int) or reduce < 1 or reduce & (reduce - 1) \
            or reduce > 1 << 16:
        raise LinrError(f"reduce must be a power of two from 1 to 65536, not {reduce!r:.20}")
    return decoder.decode(_bytes(data), max_pixels=validate.max_pixels(max_pixels),
                          prior=_prior_arg(prior), color_order=color_order, reduce=reduce,
                          region=validate.region(region))


def info(data, /, *, prior=None) -> dict:
    """What a .linr file holds: geometry, model, prior, metadata, bytes per chunk, bpp."""
    data = _bytes(data)
    box = container.read(data)
    from .groups import layout
    from .wire import SEEDED, Header
    header = Header.unpack(box.get(container.HEADER), box.version)
    im, cfg = header.image, header.cfg
    name = None
    if header.prior != SEEDED:
        from .priors import find
        try:
            given = _prior_arg(prior)
            name = find(header.prior, [given] if given is not None else []).name
        except LinrError:
            name = None
    meta = {}
    if box.ancillary:
        try:
            from .metadata import from_chunks
            meta = {k: (len(v) if isinstance(v, (bytes, bytearray)) else v)
                    for k, v in from_chunks(box.ancillary).items()}
        except LinrError as exc:
            meta = {"error": str(exc)}
    delta = box.get(container.DELTA)
    from .decoder import read_filter, read_gray, read_palette, read_values
    palette = read_palette(box, header)
    value_table = read_values(box, header)
    copies = read_gray(box, header, palette)
    filt = read_filter(box, header, palette)
    if palette is not None:
        im = palette.output_info(im.height, im.width)
    if value_table is not None:
        im = dataclasses.replace(im, bits=value_table.bits)
    if filt is not None:
        im = dataclasses.replace(im, bits=filt.bits)
    if copies is not None:
        from .gray import output_info
        im = output_info(im, copies)
    return {
        "width": im.width, "height": im.height, "channels": im.channels,
        "bit_depth": im.bits, "dtype": im.dtype.name, "offset": im.offset if im.signed else None,
        "shape": [im.height, im.width] if im.plain2d else [im.height, im.width, im.channels],
        "color_order": "gray" if im.channels < 3 else ("rgb" if im.order == "rgb" else "bgr"),
        "format_version": box.version,
        "model": {"hidden": cfg.hidden, "layers": cfg.layers, "activation": cfg.activation,
                  "parameters": cfg.parameters()},
        "prior": name, "prior_id": None if header.prior == SEEDED else header.prior.hex(),
        "seed": header.seed if header.prior == SEEDED else None,
        "delta_tensors": delta[0] if delta else 0,
        "palette": palette.count if palette is not None else None,
        "value_tables": [len(t) for t in value_table.tables] if value_table is not None else None,
        "gray_copies": copies is not None,
        "filter": filt.name if filt is not None else None,
        "groups": len(layout(im.height, im.width, header.group_size)) if header.group_size else 1,
        "group_size": list(header.group_size) if header.group_size else None,
        "metadata": meta,
        "bytes": len(data),
        "chunks": {t.decode(): len(d) for t, d in box.in_order},
        "bpp": 8 * len(data) / (im.width * im.height),
    }
