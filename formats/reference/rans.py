"""Reference rANS decoder for .linr data chunks, bit-exact with constriction 0.4.x.

Written from the rules in RANS.md; no import of inrcodec or constriction. It mirrors
`constriction.stream.stack.AnsCoder` (= AnsCoder<u32, u64>) decoding with
`ContiguousCategoricalEntropyModel<u32, _, 24>` models built by
`from_floating_point_probabilities_fast` (what Python's `Bernoulli(perfect=False)` and
`Categorical(probs, perfect=False)` construct). Slow (pure Python per symbol) but plain.
"""
from __future__ import annotations

PRECISION = 24                      # models give frequencies that sum to 2^24
WORD_BITS = 32                      # the stream is a list of 32-bit words
STATE_BITS = 64                     # the decoder state is a 64-bit integer
TOTAL = 1 << PRECISION
LOW = 1 << (STATE_BITS - WORD_BITS)  # 2^32: refill when the state falls below this
WORD_MASK = (1 << WORD_BITS) - 1


class StreamError(ValueError):
    """The words cannot be an ANS stream (a trailing zero word)."""


# -- models: integer cumulative tables ----------------------------------------------------

def bernoulli_cdf(k16: int) -> tuple[int, int, int]:
    """[cdf0, cdf1, cdf2] for a bit with P(1) = k16 / 65536, 0 <= k16 <= 65536.

    The model is the 2-symbol table of the probabilities [1 - p, p]. Both are multiples of
    2^-16, so every float step below is exact and the rule is integer:
    cdf1 = floor((65536 - k16) * (2^24 - 2) / 65536) + 1, freq(0) = cdf1, freq(1) = 2^24 - cdf1.
    """
    if not 0 <= k16 <= 65536:
        raise ValueError("k16 out of range")
    return [0, (((65536 - k16) * (TOTAL - 2)) >> 16) + 1, TOTAL]


def categorical_cdf(probabilities: list[float]) -> list[int]:
    """The quantised table constriction builds from float64 probabilities (n >= 2 symbols).

    All arithmetic on floats is IEEE 754 binary64 with round-to-nearest-even (Python floats):
      free  = 2^24 - n                       (one unit is reserved for every symbol: "leaky")
      norm  = ((p_0 + p_1) + p_2) + ...      (sequential sum, left to right, from 0.0)
      scale = free / norm                    (one rounded division)
      c_i   = ((p_0 + p_1) + ...) + p_{i-1}  (the same sequential partial sums; c_0 = 0.0)
      cdf_i = floor(c_i * scale) + i         (one rounded product, truncated to an integer)
      cdf_n = 2^24
    freq(i) = cdf_{i+1} - cdf_i >= 1 for every symbol.
    """
    n = len(probabilities)
    if n < 2 or n >= TOTAL - 1:
        raise ValueError("a categorical model needs 2 .. 2^24 - 2 symbols")
    norm = 0.0
    for p in probabilities:
        norm += p
    if not (norm > 0.0 and norm < float("inf")) or norm < 2.0 ** -1022:
        raise ValueError("probabilities are not normalisable")
    scale = float(TOTAL - n) / norm
    cdf, cum = [], 0.0
    for i, p in enumerate(probabilities):
        cdf.append(int(cum * scale) + i)    # int() truncates; the product is >= 0
        cum += p
    cdf.append(TOTAL)
    return cdf


def geometric_probabilities(weights: list[int]) -> list[float]:
    """float64 pmf from integer weights: p_i = w_i / S with S = sum(w) (one rounded division).

    S must be below 2^53 so that it (and every partial sum) is exact whatever the summation
    order; linr's geometric weights (w_0 = 2^40, ratio <= 255/256) sum to below 2^50.
    """
    total = sum(int(w) for w in weights)
    if not 0 < total < (1 << 53):
        raise ValueError("weights must sum to 1 .. 2^53 - 1")
    return [float(int(w)) / float(total) for w in weights]


# -- the decoder -----------------------------------------------------------------------

class AnsDecoder:
    """Pops symbols off a constriction AnsCoder stream given as its 32-bit words."""

    def __init__(self, words):
        # The words are a stack: the encoder pushed words at the end, so the decoder pops
        # them from the end. The last word(s) hold the final encoder state, most
        # significant word last; leading zero words of the state are not written, so a
        # stream never ends in a zero word.
        self.words = [int(w) & WORD_MASK for w in words]
        self.state = 0
        if self.words:
            if self.words[-1] == 0:
                raise StreamError("an ANS stream never ends in a zero word")
            # Initial state: pop one word; while the state is below 2^32 and words remain,
            # state = state * 2^32 + next popped word (so at most two words).
            self.state = self.words.pop()
            while self.state < LOW and self.words:
                self.state = (self.state << WORD_BITS) | self.words.pop()

    def _decode(self, cdf: list[int]) -> int:
        # quantile = state mod 2^24; the symbol s is the largest with cdf[s] <= quantile.
        quantile = self.state & (TOTAL - 1)
        lo, hi = 0, len(cdf) - 1               # invariant: cdf[lo] <= quantile < cdf[hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if cdf[mid] <= quantile:
                lo = mid
            else:
                hi = mid
        s = lo
        freq = cdf[s + 1] - cdf[s]
        # state = (state >> 24) * freq(s) + (quantile - cdf[s])
        self.state = (self.state >> PRECISION) * freq + (quantile - cdf[s])
        # Renormalise: if the state fell below 2^32 and a word is left, pop one word:
        # state = state * 2^32 + word. (Decoding past the end is allowed and deterministic.)
        if self.state < LOW and self.words:
            self.state = (self.state << WORD_BITS) | self.words.pop()
        return s

    def decode_bit(self, k16: int) -> int:
        """One bit under Bernoulli(perfect=False) with P(1) = k16 / 65536."""
        return self._decode(bernoulli_cdf(k16))

    def decode_categorical(self, weights: list[int]) -> int:
        """One symbol (index into weights) under Categorical(w / sum(w), perfect=False)."""
        return self._decode(categorical_cdf(geometric_probabilities(weights)))

    def decode_with_cdf(self, cdf: list[int]) -> int:
        """One symbol under an already quantised table (reuse it for many symbols)."""
        return self._decode(cdf)

    def is_empty(self) -> bool:
        # constriction's end condition: the state is 0. A well-formed stream reaches it
        # exactly after its last symbol (with no words left: while words remain the state
        # stays >= 2^32).
        return self.state == 0


# -- an encoder (for crafting test streams; RANS.md "Encoding") --------------------------

def encode_bits(bits, ks) -> bytes:
    """The D-chunk bytes coding `bits` (decoding order) with P(1) = k / 65536 each."""
    x, words = 0, []
    for bit, k in reversed(list(zip(bits, ks))):
        cdf = bernoulli_cdf(int(k))
        start, freq = cdf[int(bit)], cdf[int(bit) + 1] - cdf[int(bit)]
        if (x >> 40) >= freq:
            words.append(x & WORD_MASK)
            x >>= WORD_BITS
        x = (x // freq) * TOTAL + start + (x % freq)
    while x:
        words.append(x & WORD_MASK)
        x >>= WORD_BITS
    return b"".join(w.to_bytes(4, "little") for w in words)
