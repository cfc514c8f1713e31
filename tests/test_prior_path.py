"""Priors on the search path for encoding (--prior NAME, --prior auto), and messages that fit
the caller: the command line says --prior, the API says prior=."""
import cv2
import numpy as np
import pytest

import inrcodec
from inrcodec import priors
from inrcodec.cli import main
from inrcodec.errors import PriorError
from inrcodec.model import NetConfig, seeded_init


@pytest.fixture
def path_dir(tmp_path, monkeypatch):
    d = tmp_path / "priors"
    d.mkdir()
    monkeypatch.setenv("LINR_PRIOR_PATH", str(d))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))       # no user priors
    return d


def _prior(name, channels, seed=3):
    cfg = NetConfig(channels=channels, hidden=8, layers=2)
    return priors.pack(name, cfg, seeded_init(cfg, seed))


def _png(path, channels, seed=0):
    y, x = np.mgrid[:16, :20]
    img = np.stack([(x * 7 + y * (3 + i) + seed) % 256 for i in range(channels)], -1).astype(np.uint8)
    cv2.imwrite(str(path), img)
    return img


def _info_prior(path):
    return inrcodec.info(path.read_bytes())["prior"]


def test_encode_finds_a_named_prior_on_the_path(tmp_path, path_dir, capsys, monkeypatch):
    (path_dir / "tiles.linrp").write_bytes(_prior("tiles", 3))
    src, lin, back = tmp_path / "a.png", tmp_path / "a.linr", tmp_path / "b.png"
    img = _png(src, 3)
    assert main(["encode", str(src), str(lin), "--prior", "tiles", "--effort", "0", "-q"]) == 0
    assert _info_prior(lin) == "tiles"
    assert main(["decode", str(lin), str(back), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)
    # the API finds it too
    data = inrcodec.encode(img, prior="tiles", effort=0)
    assert np.array_equal(inrcodec.decode(data), img)
    capsys.readouterr()

    # off the path: the command line's advice is --prior, the API's prior=
    monkeypatch.setenv("LINR_PRIOR_PATH", str(tmp_path / "empty"))
    assert main(["decode", str(lin), str(tmp_path / "c.png"), "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "pass it with --prior FILE.linrp" in err[0] and "prior=" not in err[0]
    with pytest.raises(PriorError) as info:
        inrcodec.decode(data)
    assert "prior=" in str(info.value) and "--prior" not in str(info.value)
    # with the prior passed, it decodes
    assert main(["decode", str(lin), str(tmp_path / "c.png"), "--prior", str(path_dir / "tiles.linrp"),
                 "-q"]) == 0


def test_a_wrong_prior_file_is_not_told_to_pass_one(tmp_path, path_dir, capsys, monkeypatch):
    (path_dir / "tiles.linrp").write_bytes(_prior("tiles", 3))
    other = tmp_path / "other.linrp"
    other.write_bytes(_prior("other", 3, seed=9))
    src, lin = tmp_path / "a.png", tmp_path / "a.linr"
    _png(src, 3)
    assert main(["encode", str(src), str(lin), "--prior", "tiles", "--effort", "0", "-q"]) == 0
    monkeypatch.setenv("LINR_PRIOR_PATH", str(tmp_path / "empty"))
    capsys.readouterr()
    assert main(["decode", str(lin), str(tmp_path / "c.png"), "--prior", str(other), "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "another one" in err[0] and "'other'" in err[0]
    assert "pass it" not in err[0]
    assert not (tmp_path / "c.png").exists()
    with pytest.raises(PriorError) as info:
        inrcodec.decode(lin.read_bytes(), prior=other.read_bytes())
    assert "another one" in str(info.value) and "--prior" not in str(info.value)


def test_unknown_name_says_where_it_looked(tmp_path, path_dir, capsys):
    src = tmp_path / "a.png"
    _png(src, 3)
    assert main(["encode", str(src), str(tmp_path / "a.linr"), "--prior", "tiles", "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "unknown prior 'tiles'" in err[0] and "tiles.linrp" in err[0]
    assert "LINR_PRIOR_PATH" in err[0]
    assert not (tmp_path / "a.linr").exists()


def test_auto_ranks_the_path_priors_of_the_image_channel_count(tmp_path, path_dir):
    (path_dir / "rgba.linrp").write_bytes(_prior("rgba", 4))
    (path_dir / "corrupt.linrp").write_bytes(b"\x89LNRP\r\n\x01\x05ab")        # skipped
    src4, src3 = tmp_path / "a.png", tmp_path / "b.png"
    _png(src4, 4)
    _png(src3, 3)
    lin4, lin3 = tmp_path / "a.linr", tmp_path / "b.linr"
    # the path's 4-channel prior competes with the built-in one (photo-rgba)
    assert main(["encode", str(src4), str(lin4), "--effort", "0", "--filter", "never", "-q"]) == 0
    assert _info_prior(lin4) in ("rgba", "photo-rgba")
    from inrcodec.encoder import Encoder
    enc4 = Encoder(np.zeros((8, 8, 4), np.uint8), effort=0, prior="auto", mode="smallest", seed=0,
                   device="cpu", overrides={}, order="rgb", progress=False)
    assert [p.label for p in enc4.starts()] == ["photo-rgba", "rgba"]
    assert main(["encode", str(src3), str(lin3), "--effort", "0", "--filter", "never", "-q"]) == 0
    assert _info_prior(lin3) in priors.BUILTIN                   # a 4-channel prior is not ranked
    # the ranking sees both kinds
    img = np.zeros((8, 8, 3), np.uint8)
    img[::2] = 200
    (path_dir / "tiles.linrp").write_bytes(_prior("tiles", 3))
    enc = Encoder(img, effort=0, prior="auto", mode="smallest", seed=0, device="cpu", overrides={},
                  order="rgb", progress=False)
    labels = [p.label for p in enc.starts()]
    assert "tiles" in labels and "rgba" not in labels
    assert set(labels) - {"tiles"} <= set(priors.BUILTIN) and len(labels) > 1
    assert labels[-1] == "tiles"                 # after the built-in ones: a tie keeps those


def test_auto_without_path_priors_is_unchanged(tmp_path, path_dir):
    """No bitstream change: with nothing on the path, auto writes the same bytes as before."""
    img = _png(tmp_path / "a.png", 3)
    before = inrcodec.encode(img, effort=0)
    (path_dir / "gray.linrp").write_bytes(_prior("gray", 1))       # another channel count
    assert inrcodec.encode(img, effort=0) == before


def _ranked_encoder(monkeypatch, img, costs):
    """An Encoder whose crop costs are `costs` by prior name (others: dear)."""
    from inrcodec.encoder import Encoder
    enc = Encoder(img, effort=2, prior="auto", mode="smallest", seed=0, device="cpu", overrides={},
                  order="rgb" if img.ndim == 3 else "given", progress=False)
    names = iter([p.label for p in enc.starts()])
    monkeypatch.setattr(enc, "walk_cost", lambda cfg, weights, crop: costs.get(next(names), 9e9))
    return enc


def test_fit_starts_from_the_prior_trained_most_within_the_margin(monkeypatch, path_dir):
    """encoder.fit_start: on a colour image, the built-in prior of the image's bit depth that
    was trained most (photo-3: 24000 steps) among those ranked within FIT_START_MARGIN of
    the cheapest; outside it, the next most trained of those within; gray images, and a
    ranking won by a prior that is not built in, keep the ranked prior."""
    from inrcodec.encoder import FIT_START_MARGIN
    img = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    best = 1e6
    enc = _ranked_encoder(monkeypatch, img, {"photo": best, "photo-2": best * 1.01,
                                             "photo-3": best * (1 + FIT_START_MARGIN / 2)})
    assert enc.rank().label == "photo" and enc.fit_start().label == "photo-3"
    enc = _ranked_encoder(monkeypatch, img, {"photo": best, "photo-2": best * 1.01,
                                             "photo-3": best * (1 + 2 * FIT_START_MARGIN)})
    assert enc.fit_start().label == "photo-2"
    enc = _ranked_encoder(monkeypatch, img, {"photo-3": best, "photo": best})
    assert enc.fit_start().label == "photo-3"
    gray = _ranked_encoder(monkeypatch, img[:, :, 0], {"mnist": best * 1.001, "photo-gray": best})
    assert gray.rank().label == gray.fit_start().label == "photo-gray"
    path_dir.joinpath("mine.linrp").write_bytes(_prior("mine", 3))
    enc = _ranked_encoder(monkeypatch, img, {"mine": best, "photo-3": best * 1.001})
    assert enc.rank().label == enc.fit_start().label == "mine"


def _photo_like(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    img = np.stack([(x * 3 + y) // 2, (y * 2 + x) // 3, (x + y * 3) // 4], 2) % 256
    return (img + rng.integers(0, 12, img.shape)).clip(0, 255).astype(np.uint8)


def _walked_crops(monkeypatch):
    """The shapes of the crops the encoder walks for their cost, in order."""
    from inrcodec.encoder import Encoder
    shapes, walk_cost = [], Encoder.walk_cost
    monkeypatch.setattr(Encoder, "walk_cost",
                        lambda self, cfg, w, crop: shapes.append(crop.shape[:2]) or walk_cost(self, cfg, w, crop))
    return shapes


def test_a_large_image_ranks_every_prior_on_a_small_crop_and_the_shortlist_on_the_large(monkeypatch, path_dir):
    """encoder.SHORTLIST: every candidate on the SHORTLIST_SIDE centre crop, the SHORTLIST
    cheapest of them on the RANK_SIDE one, which picks the ranked prior; an image no larger
    than the small crop ranks every candidate once, on the whole image."""
    from inrcodec.encoder import SHORTLIST, SHORTLIST_SIDE, RANK_SIDE, Encoder
    shapes = _walked_crops(monkeypatch)
    enc = Encoder(_photo_like(240, 300), effort=0, prior="auto", mode="smallest", seed=0, device="cpu",
                  overrides={}, order="rgb", progress=False)
    best = enc.rank()
    n = len(enc._plans)
    assert n > SHORTLIST
    assert shapes == [(SHORTLIST_SIDE, SHORTLIST_SIDE)] * n + [(RANK_SIDE, RANK_SIDE)] * SHORTLIST
    short = sorted(enc._plans, key=lambda p: Encoder.ranked_bits(p, shortlisted=True))[:SHORTLIST]
    assert best is min(short, key=Encoder.ranked_bits)
    assert all(p.bits > 0 for p in short)
    shapes.clear()
    small = Encoder(_photo_like(SHORTLIST_SIDE - 6, SHORTLIST_SIDE - 16), effort=0, prior="auto", mode="smallest", seed=0, device="cpu",
                    overrides={}, order="rgb", progress=False)
    small.rank()
    assert shapes == [(SHORTLIST_SIDE - 6, SHORTLIST_SIDE - 16)] * len(small._plans)


def test_a_large_colour_image_fits_from_the_shortlist_without_the_ranking_crop(monkeypatch, path_dir):
    """encoder.Encoder.fit_skips_the_ranking: a colour image of BIG_IMAGE_PIXELS at the default
    effort, every candidate a built-in prior, walks no ranking crop: every candidate on the
    shortlist's crop, the step search's crops, then the QAT delta on the search's crop and the
    find on the shortlist's crop, the check that it pays."""
    from inrcodec.encoder import BIG_IMAGE_PIXELS, RANK_SIDE, SHORTLIST_SIDE, STEP_SEARCH_SIDE
    monkeypatch.setenv("LINR_THREADS", "1")
    img = _photo_like(512, BIG_IMAGE_PIXELS // 512, seed=2)
    shapes = _walked_crops(monkeypatch)
    data = inrcodec.encode(img, color_order="rgb")
    short, ranking, search = [(side, side) for side in (SHORTLIST_SIDE, RANK_SIDE, STEP_SEARCH_SIDE)]
    first_search = shapes.index(search)
    assert first_search == len([p for p in priors.available()
                                if p.cfg.channels == 3 and p.name not in priors.SUPERSEDED])
    assert set(shapes[:first_search]) == {short}
    assert ranking not in shapes and set(shapes[first_search:-1]) == {search} and shapes[-1] == short
    assert inrcodec.info(data)["delta_tensors"] > 0
    assert np.array_equal(inrcodec.decode(data), img)


def test_a_delta_that_does_not_pay_on_the_shortlist_crop_leaves_the_ranked_prior_bare(monkeypatch, path_dir):
    """The check of fit_skips_the_ranking: when the fitted delta costs more than the bare start
    on the shortlist's crop, the file is the ranking's choice without a delta (effort 0's)."""
    from inrcodec.encoder import BIG_IMAGE_PIXELS, Encoder
    measured = Encoder.measured

    def dear_on_the_shortlist_crop(self, start, delta, label, crop=None):
        plan = measured(self, start, delta, label, crop)
        if crop is self.short_crop:
            plan.bits = float("inf")
        return plan
    monkeypatch.setattr(Encoder, "measured", dear_on_the_shortlist_crop)
    img = _photo_like(512, BIG_IMAGE_PIXELS // 512, seed=2)
    data = inrcodec.encode(img, color_order="rgb")
    assert inrcodec.info(data)["delta_tensors"] == 0
    assert data == inrcodec.encode(img, effort=0, color_order="rgb")


def test_the_step_search_walks_the_small_crop_and_measures_its_find_on_the_large(monkeypatch):
    """With QAT, the delta's step is searched on the STEP_SEARCH_SIDE crop, and the step
    found, with and without QAT, is measured on the ranking crop; one thread or two, the same
    file."""
    from inrcodec.encoder import STEP_SEARCH_SIDE, RANK_SIDE
    img = _photo_like(200, 210, seed=1)
    files = []
    for budget in ("1", "2"):
        monkeypatch.setenv("LINR_THREADS", budget)
        shapes = _walked_crops(monkeypatch)
        files.append(inrcodec.encode(img, effort=3, color_order="rgb"))      # effort 3 fits at any size
        fit = shapes[shapes.index((RANK_SIDE, RANK_SIDE)) + 2:]    # after the ranking's shortlist
        assert fit[-2:] == [(RANK_SIDE, RANK_SIDE)] * 2              # the find, with and without QAT
        assert len(fit) >= 5 and set(fit[:-2]) == {(STEP_SEARCH_SIDE, STEP_SEARCH_SIDE)}
    assert files[0] == files[1]
    assert inrcodec.info(files[0])["delta_tensors"] > 0
    assert np.array_equal(inrcodec.decode(files[0]), img)
