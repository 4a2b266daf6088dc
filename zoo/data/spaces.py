"""The characters zoo reads as a space, defined once for cleaning in the graph (TensorFlow's RE2) and for the
Python comparisons of texts (``zoo.data.splits.text_key``); this module imports nothing, so neither pulls in the
other's dependencies."""

# Whitespace other than the space itself. U+0085 is left alone: latin-1 data such as MR uses it as "...". The
# characters are literal, not escapes, so the class reads the same to RE2 (which spells escapes \x{a0}) and to
# Python's re (which spells them \xa0).
OTHER_SPACE = "[\t\n\v\f\r\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
