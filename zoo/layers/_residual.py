"""The residual wrapper shared by encoder and decoder blocks."""


def residual_sublayer(x, norm, fn, dropout, norm_first, training, pack=None):
    """Apply ``fn`` as a residual sub-layer in the pre-LN or post-LN layout.

    ``fn`` may return a tuple; its first element is the sub-layer output and the rest (caches, attention
    probabilities) are returned beside the new ``x``. ``pack`` (``Packing.pack``), when given, maps ``x`` and
    the sub-layer output to the real tokens' rows before the residual add, so the add, dropout and post-LN norm
    run on those rows only.
    """
    h = fn(norm(x) if norm_first else x)
    extras = ()
    if isinstance(h, tuple):
        h, *extras = h
    if pack is not None:
        x, h = pack(x), pack(h)
    x = x + dropout(h, training=training)
    if not norm_first:
        x = norm(x)
    return x, tuple(extras)
