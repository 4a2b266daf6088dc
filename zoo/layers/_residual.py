"""The residual wrapper shared by encoder and decoder blocks."""


def residual_sublayer(x, norm, fn, dropout, norm_first, training):
    """Apply ``fn`` as a residual sub-layer in the pre-LN or post-LN layout.

    ``fn`` may return a tuple; its first element is the sub-layer output and the rest (caches, attention
    probabilities) are returned beside the new ``x``.
    """
    h = fn(norm(x) if norm_first else x)
    extras = ()
    if isinstance(h, tuple):
        h, *extras = h
    x = x + dropout(h, training=training)
    if not norm_first:
        x = norm(x)
    return x, tuple(extras)
