"""The command line does what its usage strings, its help and the README promise."""
import os

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from inrcodec.cli import cli, main
from inrcodec.limits import DEFAULT_MAX_PIXELS


def _png(path, seed=0):
    img = (np.arange(12 * 10 * 3).reshape(12, 10, 3) * (seed + 3) % 251).astype(np.uint8)
    cv2.imwrite(str(path), img)
    return img


def _err(capsys):
    return capsys.readouterr().err.splitlines()


def test_output_folder_is_created(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    _png(a), _png(b, 1)
    out = tmp_path / "new" / "deeper"
    assert main(["encode", str(a), str(b), "-o", str(out), "--effort", "0", "-q"]) == 0
    assert sorted(os.listdir(out)) == ["a.linr", "b.linr"]
    back = tmp_path / "back"
    assert main(["decode", str(out), "-o", str(back), "-q"]) == 0
    assert sorted(os.listdir(back)) == ["a.png", "b.png"]


def test_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    a, f = tmp_path / "a.png", tmp_path / "file"
    _png(a)
    f.write_bytes(b"x")
    assert main(["encode", str(a), "-o", str(f), "-q"]) == 2          # click's own check: usage
    err = _err(capsys)
    assert len(err) == 1 and "is a file" in err[0] and f.read_bytes() == b"x"


@pytest.mark.parametrize("name", ["weird.png", "weird.TIF", "weird.jpg", "weird.webp", "weird.ppm"])
def test_linr_stream_under_an_image_name_needs_force(tmp_path, capsys, name):
    a, dst = tmp_path / "a.png", tmp_path / name
    _png(a)
    assert main(["encode", str(a), str(dst), "--effort", "0", "-q"]) == 1
    err = _err(capsys)
    assert len(err) == 1 and err[0].startswith(f"linr: {dst}: ") and "--force" in err[0]
    assert not dst.exists()
    assert main(["encode", str(a), str(dst), "--effort", "0", "-q", "--force"]) == 0
    assert dst.read_bytes()[:4] != b"\x89PNG" and dst.stat().st_size > 0


def test_other_names_are_fine(tmp_path):
    a = tmp_path / "a.png"
    _png(a)
    for name in ("x.linr", "x", "x.bin"):
        assert main(["encode", str(a), str(tmp_path / name), "--effort", "0", "-q"]) == 0


def test_input_as_output_does_not_suggest_force(tmp_path, capsys):
    a = tmp_path / "in.png"
    _png(a)
    before = a.read_bytes()
    for extra in ([], ["--force"]):
        assert main(["encode", str(a), str(a), "--effort", "0", "-q"] + extra) == 1
        err = _err(capsys)
        assert len(err) == 1 and "input file" in err[0] and "--force" not in err[0], err
    assert a.read_bytes() == before
    # decode too
    lin = tmp_path / "in.linr"
    assert main(["encode", str(a), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(lin), "-q"]) == 1
    err = _err(capsys)
    assert len(err) == 1 and "input file" in err[0] and "--force" not in err[0]


def test_existing_output_still_suggests_force(tmp_path, capsys):
    a, o = tmp_path / "a.png", tmp_path / "a.linr"
    _png(a)
    o.write_bytes(b"old")
    assert main(["encode", str(a), str(o), "--effort", "0", "-q"]) == 1
    assert "use --force" in _err(capsys)[0]
    assert o.read_bytes() == b"old"


def test_single_input_writes_beside_it(tmp_path, capsys):
    solo = tmp_path / "solo.png"
    img = _png(solo)
    assert main(["encode", str(solo), "--effort", "0", "-q"]) == 0
    assert (tmp_path / "solo.linr").is_file()
    os.rename(solo, tmp_path / "orig.png")
    assert main(["decode", str(tmp_path / "solo.linr"), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(solo), cv2.IMREAD_UNCHANGED), img)
    assert main(["decode", str(tmp_path / "solo.linr"), "--format", "tif", "-q"]) == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "solo.tif"), cv2.IMREAD_UNCHANGED), img)
    # again: the default output exists now, and is refused as any output is
    assert main(["encode", str(tmp_path / "orig.png"), "--effort", "0", "-q"]) == 0
    capsys.readouterr()
    assert main(["decode", str(tmp_path / "solo.linr"), "-q"]) == 1
    assert "use --force" in _err(capsys)[0]
    # stdin has no name to put an output beside: a usage error
    assert main(["encode", "-"]) == 2


def test_usage_strings_match_what_is_accepted():
    for cmd in ("encode", "decode"):
        usage = CliRunner().invoke(cli, [cmd, "--help"]).output
        assert "SRC [DST]" in usage and "without DST" in usage


def test_help_shows_every_default_as_a_value():
    runner = CliRunner()
    enc = " ".join(runner.invoke(cli, ["encode", "--help"]).output.split())
    dec = " ".join(runner.invoke(cli, ["decode", "--help"]).output.split())
    train = " ".join(runner.invoke(cli, ["prior", "train", "--help"]).output.split())
    assert f"[default: {DEFAULT_MAX_PIXELS}" in dec and "DEFAULT_MAX_PIXELS" not in dec
    assert "[default: 2; 0<=x<=9]" in enc and "[default: auto]" in enc
    assert "[default: all cores]" in enc and "[default: all cores]" in dec
    # every option has help text
    for text, options in ((enc, ["--effort", "--palette", "--seed", "--mode", "--prior", "--device"]),
                          (train, ["--hidden", "--layers", "--steps", "--seed", "-q, --quiet"])):
        for opt in options:
            after = text.split(opt, 1)[1].split("--", 1)[0]
            assert len(after.split("[default")[0].split()) > 3, (opt, after)
    # ber0 is explained: the seed paper's criterion
    assert "no bit-plane decision is wrong" in enc and "paper" in enc
    # decode --strip names what it strips and where
    strip = dec.split("--strip", 1)[1].split("-j,", 1)[0]
    assert "PNG" in strip and "TIFF" in strip and "ICC" in strip
