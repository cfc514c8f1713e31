"""Metadata through the command line: ICC, EXIF, XMP and text survive encode -> decode to PNG or TIFF."""
import io
import os
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from inrcodec import codec, metadata
from inrcodec.png_chunks import png_chunk
from inrcodec.cli import main

ICC = (b"\0\0\0\x80" + b"lcms" + b"\x02\x10\0\0" + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp"
       + b"\0" * 88)                      # a 128-byte profile header: enough for the checks
META = {"icc": ICC, "exif": b"II*\0\x08\0\0\0\0\0", "text": [("Title", "a test image"), ("Author", "linr")]}


def _png_with_meta(path, img):
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(metadata.add_png_metadata(buf.tobytes(), META))


def test_metadata_round_trip_and_strip(tmp_path, capsys):
    img = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    src = tmp_path / "in.png"
    _png_with_meta(src, img)
    assert metadata.read_png_metadata(src.read_bytes())["icc"] == ICC
    out, back = tmp_path / "a.linr", tmp_path / "back.png"
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    meta = codec.info(out.read_bytes())["metadata"]
    assert meta and "text" in meta
    assert main(["info", str(out)]) == 0
    assert "metadata" in capsys.readouterr().out
    assert main(["decode", str(out), str(back), "-q"]) == 0
    got = metadata.read_png_metadata(back.read_bytes())
    assert got["icc"] == ICC and got["exif"] == META["exif"]
    assert sorted(got["text"]) == sorted(META["text"])
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)     # pixels untouched
    # --strip on encode drops it; the file is smaller
    bare = tmp_path / "b.linr"
    assert main(["encode", str(src), str(bare), "--effort", "0", "-q", "--strip"]) == 0
    assert not codec.info(bare.read_bytes())["metadata"]
    assert len(bare.read_bytes()) < len(out.read_bytes())


def test_cli_stores_rgb_and_restores_bgr(tmp_path):
    img = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    src, out, back = tmp_path / "c.png", tmp_path / "c.linr", tmp_path / "c2.png"
    cv2.imwrite(str(src), img)
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    assert codec.info(out.read_bytes())["color_order"] == "rgb"
    assert np.array_equal(codec.decode(out.read_bytes()), img[:, :, ::-1])   # the API gives R, G, B
    assert main(["decode", str(out), str(back), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)


def test_icc_and_xmp_into_tiff_outputs(tmp_path):
    tifffile = __import__("pytest").importorskip("tifffile")
    img = np.random.default_rng(2).integers(0, 65536, (8, 6, 3), dtype=np.uint16)
    src, out, back = tmp_path / "d.png", tmp_path / "d.linr", tmp_path / "d.tif"
    ok, buf = cv2.imencode(".png", img)
    meta = {"icc": ICC, "xmp": b"<x:xmpmeta/>"}
    src.write_bytes(metadata.add_png_metadata(buf.tobytes(), meta))
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(out), str(back), "-q"]) == 0
    got = metadata.read_png_metadata(back.read_bytes())          # TIFF too, through tifffile
    assert got.get("icc") == ICC and got.get("xmp") == meta["xmp"]
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)


def _tiff_tags(tiff) -> dict:
    """tifffile's view of a TIFF's (path or bytes) first page: {tag name: value}, and the
    pixels under "pixels"."""
    import tifffile
    data = tiff if isinstance(tiff, bytes) else tiff.read_bytes()
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        return {**{t.name: t.value for t in page.tags.values()}, "pixels": page.asarray()}


def _pillow_exif():
    """An EXIF block with Make, an Exif IFD and a GPS IFD, made by Pillow (big-endian)."""
    Image = pytest.importorskip("PIL.Image")
    exif = Image.Exif()
    exif[271] = "Canon"
    exif.get_ifd(0x8769)[0x9003] = "2024:01:02 03:04:05"          # DateTimeOriginal
    exif.get_ifd(0x8825)[1] = "N"                                   # GPSLatitudeRef
    return exif.tobytes()[6:]                                       # without "Exif\0\0"


def test_exif_and_text_survive_png_to_tiff_to_png(tmp_path, capsys):
    pytest.importorskip("tifffile")
    img = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    meta = {"exif": _pillow_exif(), "text": [("Author", "linr"), ("Description", "a test image"),
                                             ("Comment", "PNG only")]}
    src, lin, tif = tmp_path / "e.png", tmp_path / "e.linr", tmp_path / "e.tif"
    src.write_bytes(metadata.add_png_metadata(cv2.imencode(".png", img)[1].tobytes(), meta))
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    capsys.readouterr()
    assert main(["decode", str(lin), str(tif)]) == 0                      # a warning is no error
    assert capsys.readouterr().err.splitlines() == [
        f"linr: {tif}: TIFF output: not written: text 'Comment' (no TIFF tag)", f"{lin} -> {tif}: 16x16"]
    tags = _tiff_tags(tif)
    assert tags["ExifTag"] == {"DateTimeOriginal": "2024:01:02 03:04:05"}
    assert tags["GPSTag"] == {"GPSLatitudeRef": "N"} and tags["Make"] == "Canon"
    assert (tags["Artist"], tags["ImageDescription"]) == ("linr", "a test image")
    assert np.array_equal(tags["pixels"], img[:, :, ::-1])                # RGB in the file
    # and that TIFF, encoded again and decoded to PNG, still has them (EXIF rebuilt from its IFDs)
    lin2, png2 = tmp_path / "f.linr", tmp_path / "f.png"
    assert main(["encode", str(tif), str(lin2), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin2), str(png2), "-q"]) == 0
    got = metadata.read_png_metadata(png2.read_bytes())
    assert got["text"] == [("Description", "a test image"), ("Author", "linr")]
    from PIL import Image
    exif = Image.Exif()
    exif.load(got["exif"])
    assert exif[271] == "Canon" and exif.get_ifd(0x8769)[0x9003] == "2024:01:02 03:04:05"
    assert np.array_equal(cv2.imread(str(png2), cv2.IMREAD_UNCHANGED), img)


def test_tiff_text_tags_survive_tiff_to_tiff(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    img = np.random.default_rng(4).integers(0, 65536, (16, 16), dtype=np.uint16)
    src, lin, back = tmp_path / "g.tif", tmp_path / "g.linr", tmp_path / "h.tif"
    tifffile.imwrite(src, img, description="scan 7", software="scanner 1.0", iccprofile=ICC,
                     datetime="2024:01:02 03:04:05", metadata=None,
                     extratags=[(315, 2, None, "Ann", True), (33432, 2, None, "(c) Ann", True)])
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(back), "-q"]) == 0
    tags = _tiff_tags(back)
    assert (tags["ImageDescription"], tags["Software"], tags["DateTime"], tags["Artist"],
            tags["Copyright"]) == ("scan 7", "scanner 1.0", "2024:01:02 03:04:05", "Ann", "(c) Ann")
    assert tags["InterColorProfile"] == ICC and np.array_equal(tags["pixels"], img)


@pytest.mark.parametrize("channels", [4, 2])
def test_alpha_tiff_outputs_keep_metadata(tmp_path, channels):
    """RGBA and gray + alpha: the metadata is written and the alpha channel stays as written."""
    pytest.importorskip("tifffile")
    import inrcodec
    from inrcodec import imageio
    img = np.random.default_rng(5).integers(0, 256, (16, 16, channels), dtype=np.uint8)
    lin, back = tmp_path / "a.linr", tmp_path / "a.tif"
    meta = {"icc": ICC, "xmp": b"<x:xmpmeta/>", "exif": _pillow_exif(), "text": [("Copyright", "CC0")]}
    lin.write_bytes(inrcodec.encode(img, effort=0, metadata=meta))
    assert main(["decode", str(lin), str(back), "-q"]) == 0
    tags, plain = _tiff_tags(back), imageio.image_to_bytes(img, ".tif")
    assert tags["InterColorProfile"] == ICC and tags["XMP"] == meta["xmp"]
    assert tags["Copyright"] == "CC0" and tags["ExifTag"] == {"DateTimeOriginal": "2024:01:02 03:04:05"}
    assert tags["SamplesPerPixel"] == channels
    assert tags.get("ExtraSamples") == _tiff_tags(plain).get("ExtraSamples")
    assert np.array_equal(inrcodec.read_image(back), img)



# -- warnings: one line `linr: FILE: message` on stderr, hidden by -q, exit code 0 ------------

def test_skipped_png_chunk_is_one_line_on_stderr(tmp_path):
    """A real process: Python's warnings machinery would print two lines (file:line, source)."""
    img = np.random.default_rng(6).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    bad = b"p\x00\x00" + zlib.compress(b"not an icc profile")
    src = tmp_path / "bad icc.png"
    png = cv2.imencode(".png", img)[1].tobytes()
    at = 8 + 8 + 13 + 4                                     # right after IHDR
    src.write_bytes(png[:at] + png_chunk(b"iCCP", bad) + png[at:])
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "inrcodec.cli", "encode", str(src),
                               str(tmp_path / f"o{len(extra)}.linr"), "--effort", "0", *extra],
                              env=env, capture_output=True, text=True, timeout=300)
    proc = run()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [ln for ln in lines if "iCCP" in ln] == [
        f"linr: {src}: PNG metadata chunk skipped: iCCP: ICC profile of 18 bytes is shorter than "
        "its 128-byte header"]
    assert len(lines) == 2 and lines[1].startswith(f"{src} -> "), proc.stderr     # + the summary
    quiet = run("-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_tiff_output_warning_is_one_line_and_quiet_hides_it(tmp_path, capsys):
    pytest.importorskip("tifffile")
    import inrcodec
    img = np.random.default_rng(7).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    lin = tmp_path / "w.linr"
    lin.write_bytes(inrcodec.encode(img, effort=0, metadata={"text": [("Comment", "PNG only")]}))
    tifs = [tmp_path / "dir" / "w.tif", tmp_path / "w2.tif"]
    tifs[0].parent.mkdir()
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        assert main(["decode", str(lin), str(tifs[0])]) == 0
        err = capsys.readouterr().err.splitlines()
        assert main(["decode", str(lin), str(tifs[1]), "-q"]) == 0
        assert capsys.readouterr().err == ""
    assert not escaped                                    # none left to Python's warnings machinery
    assert err[0] == f"linr: {tifs[0]}: TIFF output: not written: text 'Comment' (no TIFF tag)"
    assert len(err) == 2 and "Warning" not in err[1]
    assert all(np.array_equal(inrcodec.read_image(t), img) for t in tifs)


# -- iTXt: the language tag and the translated keyword survive encode -> decode -----------------

def _itxt(keyword: str, language: str, translated: str, text: str, compressed: bool = False) -> bytes:
    body = text.encode("utf-8")
    return png_chunk(b"iTXt", keyword.encode("latin-1") + b"\0" + (b"\1\0" if compressed else b"\0\0")
                     + language.encode("ascii") + b"\0" + translated.encode("utf-8") + b"\0"
                     + (zlib.compress(body) if compressed else body))


def _itxt_fields(png: bytes) -> list:
    """(keyword, language, translated keyword, text) of each iTXt chunk of a PNG, parsed here."""
    from inrcodec.png_chunks import png_chunks
    out = []
    for ctype, body, _raw in png_chunks(png):
        if ctype == b"iTXt":
            keyword, _, rest = body.partition(b"\0")
            flag, rest = rest[0], rest[2:]
            language, _, rest = rest.partition(b"\0")
            translated, _, text = rest.partition(b"\0")
            out.append((keyword.decode("latin-1"), language.decode("ascii"),
                        translated.decode("utf-8"), (zlib.decompress(text) if flag else text).decode("utf-8")))
    return out


def test_itxt_language_and_translated_keyword_survive(tmp_path, capsys):
    img = np.random.default_rng(8).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    png = cv2.imencode(".png", img)[1].tobytes()
    at = 8 + 8 + 13 + 4                                     # right after IHDR
    long_text = "Légende " * 200                            # compressed in the output (> 1024 bytes)
    chunks = (_itxt("Title", "fr", "Titre", "Un château éclairé ✓")
              + png_chunk(b"tEXt", b"Author\0linr")
              + _itxt("Description", "fr-CA", "", long_text, compressed=True))
    src, lin, back = tmp_path / "t.png", tmp_path / "t.linr", tmp_path / "back.png"
    src.write_bytes(png[:at] + chunks + png[at:])
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(back), "-q"]) == 0
    out = back.read_bytes()
    assert _itxt_fields(out) == [("Title", "fr", "Titre", "Un château éclairé ✓"),
                                 ("Description", "fr-CA", "", long_text)]
    assert b"tEXt" in out                                  # the plain pair stays a tEXt chunk
    Image = pytest.importorskip("PIL.Image")
    with Image.open(back) as im:
        title = im.text["Title"]
        assert (title, title.lang, title.tkey) == ("Un château éclairé ✓", "fr", "Titre")
        assert im.text["Author"] == "linr"
        assert np.array_equal(np.asarray(im), img[:, :, ::-1])
    # TIFF has no place for them: said in the one warning line
    pytest.importorskip("tifffile")
    capsys.readouterr()
    assert main(["decode", str(lin), str(tmp_path / "back.tif")]) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "not written" in ln]
    assert len(err) == 1 and "text language tags and translated keywords" in err[0]
