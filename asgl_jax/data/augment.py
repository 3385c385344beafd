"""Image augmentation in TensorFlow ops with stateless seeds (for tf.data pipelines).

AutoAugment with the CIFAR-10 policy of Cubuk et al. (2018), in the common
PIL-based form (DeepVoltaire's ``CIFAR10Policy``, used by the SNN literature and
the released ASGL code): a sub-policy is drawn uniformly from 25; each of its
two operations is applied with its probability and a magnitude from 10 bins;
geometric operations fill with grey (128) and use nearest-neighbour sampling,
as PIL does. Each operation here is tested against PIL in
``tests/test_augment.py``. Images are ``uint8 [H, W, 3]``.
"""

from __future__ import annotations

import math

import tensorflow as tf

FILL = 128

# (probability, op, magnitude bin) × 2 for each of the 25 sub-policies.
CIFAR10_POLICY = (
  ((0.1, "invert", 7), (0.2, "contrast", 6)),
  ((0.7, "rotate", 2), (0.3, "translateX", 9)),
  ((0.8, "sharpness", 1), (0.9, "sharpness", 3)),
  ((0.5, "shearY", 8), (0.7, "translateY", 9)),
  ((0.5, "autocontrast", 8), (0.9, "equalize", 2)),
  ((0.2, "shearY", 7), (0.3, "posterize", 7)),
  ((0.4, "color", 3), (0.6, "brightness", 7)),
  ((0.3, "sharpness", 9), (0.7, "brightness", 9)),
  ((0.6, "equalize", 5), (0.5, "equalize", 1)),
  ((0.6, "contrast", 7), (0.6, "sharpness", 5)),
  ((0.7, "color", 7), (0.5, "translateX", 8)),
  ((0.3, "equalize", 7), (0.4, "autocontrast", 8)),
  ((0.4, "translateY", 3), (0.2, "sharpness", 6)),
  ((0.9, "brightness", 6), (0.2, "color", 8)),
  ((0.5, "solarize", 2), (0.0, "invert", 3)),
  ((0.2, "equalize", 0), (0.6, "autocontrast", 0)),
  ((0.2, "equalize", 8), (0.6, "equalize", 4)),
  ((0.9, "color", 9), (0.6, "equalize", 6)),
  ((0.8, "autocontrast", 4), (0.2, "solarize", 8)),
  ((0.1, "brightness", 3), (0.7, "color", 0)),
  ((0.4, "solarize", 5), (0.9, "autocontrast", 3)),
  ((0.9, "translateY", 9), (0.7, "translateY", 9)),
  ((0.9, "autocontrast", 2), (0.8, "solarize", 3)),
  ((0.8, "equalize", 8), (0.1, "invert", 3)),
  ((0.7, "translateY", 9), (0.9, "autocontrast", 1)),
)


def magnitude(op: str, level: int, image_size: int = 32) -> float:
  """The magnitude of ``op`` at bin ``level`` (0–9), before the random sign."""
  lin = lambda hi, lo=0.0: lo + (hi - lo) * level / 9  # noqa: E731  (np.linspace(lo, hi, 10)[level])
  table = {
    "shearX": lin(0.3),
    "shearY": lin(0.3),
    "translateX": lin(150 / 331) * image_size,
    "translateY": lin(150 / 331) * image_size,
    "rotate": lin(30.0),
    "color": lin(0.9),
    "contrast": lin(0.9),
    "sharpness": lin(0.9),
    "brightness": lin(0.9),
    "posterize": float(round(lin(4.0, 8.0))),  # bits kept: 8 → 4
    "solarize": lin(0.0, 256.0),  # threshold: 256 → 0
    "autocontrast": 0.0,
    "equalize": 0.0,
    "invert": 0.0,
  }
  return table[op]


# ----------------------------------------------------------------------------- pixel ops


def _blend(degenerate, image, factor):
  """PIL ImageEnhance: ``degenerate + factor·(image − degenerate)``, clipped to [0, 255]."""
  d = tf.cast(degenerate, tf.float32)
  out = d + factor * (tf.cast(image, tf.float32) - d)
  return tf.cast(tf.clip_by_value(tf.floor(out), 0.0, 255.0), tf.uint8)  # PIL truncates


def _grayscale(image):
  # PIL's "L" conversion: L = (299 R + 587 G + 114 B) / 1000, rounded.
  x = tf.cast(image, tf.int32)
  gray = tf.bitwise.right_shift(
    x[..., 0] * 19595 + x[..., 1] * 38470 + x[..., 2] * 7471 + 0x8000, 16
  )
  return tf.cast(gray, tf.uint8)


def invert(image):
  return 255 - image


def color(image, factor):
  gray = tf.repeat(_grayscale(image)[..., None], 3, axis=-1)
  return _blend(gray, image, factor)


def contrast(image, factor):
  mean = tf.reduce_mean(tf.cast(_grayscale(image), tf.float32))
  return _blend(tf.fill(tf.shape(image), tf.cast(tf.floor(mean + 0.5), tf.uint8)), image, factor)


def brightness(image, factor):
  return _blend(tf.zeros_like(image), image, factor)


def sharpness(image, factor):
  """PIL's SHARPEN-style smoothing kernel [[1,1,1],[1,5,1],[1,1,1]]/13; borders unchanged."""
  x = tf.cast(image, tf.float32)[None]
  k = tf.constant([[1, 1, 1], [1, 5, 1], [1, 1, 1]], tf.float32) / 13.0
  k = tf.tile(k[:, :, None, None], [1, 1, 3, 1])
  smooth = tf.nn.depthwise_conv2d(x, k, [1, 1, 1, 1], "VALID")[0]
  smooth = tf.clip_by_value(tf.round(smooth), 0.0, 255.0)  # PIL rounds filter output
  degenerate = tf.pad(smooth, [[1, 1], [1, 1], [0, 0]])
  mask = tf.pad(tf.ones_like(smooth), [[1, 1], [1, 1], [0, 0]])
  degenerate = mask * degenerate + (1 - mask) * tf.cast(image, tf.float32)
  return _blend(degenerate, image, factor)


def posterize(image, bits):
  shift = tf.cast(8 - bits, tf.uint8)
  return tf.bitwise.left_shift(tf.bitwise.right_shift(image, shift), shift)


def solarize(image, threshold):
  return tf.where(tf.cast(image, tf.float32) >= threshold, 255 - image, image)


def autocontrast(image):
  """Per channel, stretch [min, max] to [0, 255] (PIL ImageOps.autocontrast, cutoff 0)."""

  def channel(c):
    c = tf.cast(c, tf.float64)
    lo, hi = tf.reduce_min(c), tf.reduce_max(c)
    scale = 255.0 / tf.maximum(hi - lo, 1.0)
    out = tf.clip_by_value(tf.floor(c * scale - lo * scale), 0.0, 255.0)  # int(ix·scale + offset)
    return tf.where(hi > lo, out, c)

  chans = [channel(image[..., i]) for i in range(3)]
  return tf.cast(tf.stack(chans, -1), tf.uint8)


def equalize(image):
  """Per-channel histogram equalisation, PIL's ImageOps.equalize algorithm."""

  def channel(c):
    c = tf.cast(c, tf.int32)
    hist = tf.math.bincount(tf.reshape(c, [-1]), minlength=256, maxlength=256)
    nonzero = tf.boolean_mask(hist, hist > 0)
    step = (tf.reduce_sum(nonzero) - nonzero[-1]) // 255

    def apply():
      lut = (tf.cumsum(hist) - hist + step // 2) // tf.maximum(step, 1)
      lut = tf.clip_by_value(lut, 0, 255)
      return tf.gather(lut, c)

    return tf.cast(tf.cond(step > 0, apply, lambda: c), tf.uint8)

  return tf.stack([channel(image[..., i]) for i in range(3)], -1)


# ----------------------------------------------------------------------------- geometric ops


def _affine(image, coeffs, interpolation="NEAREST"):
  """PIL's ``Image.transform(AFFINE, (a, b, c, d, e, f))``: output pixel (x, y) samples the
  input at (a·x + b·y + c, d·x + e·y + f) in pixel-corner coordinates; grey fill."""
  a, b, c, d, e, f = (tf.cast(v, tf.float32) for v in coeffs)
  # PIL samples at pixel centres (x + 0.5, y + 0.5) in corner coordinates; TF maps
  # integer (centre) indices, so shift by half a pixel on both sides.
  c = c + 0.5 * (a + b) - 0.5
  f = f + 0.5 * (d + e) - 0.5
  if interpolation == "NEAREST":
    # PIL takes floor(corner coordinate); TF rounds the centre coordinate half to even.
    # They differ only at exact ties, which a tiny shift resolves PIL's way.
    c, f = c + 1e-4, f + 1e-4
  t = tf.stack([a, b, c, d, e, f, 0.0, 0.0])[None]
  out = tf.raw_ops.ImageProjectiveTransformV3(
    images=tf.cast(image, tf.float32)[None],
    transforms=t,
    output_shape=tf.shape(image)[:2],
    fill_value=float(FILL),
    interpolation=interpolation,
    fill_mode="CONSTANT",
  )[0]
  return tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)


def shear_x(image, m):
  """PIL uses bicubic sampling here; TF offers bilinear, used instead."""
  return _affine(image, (1.0, m, 0.0, 0.0, 1.0, 0.0), "BILINEAR")


def shear_y(image, m):
  """PIL uses bicubic sampling here; TF offers bilinear, used instead."""
  return _affine(image, (1.0, 0.0, 0.0, m, 1.0, 0.0), "BILINEAR")


def translate_x(image, pixels):
  return _affine(image, (1.0, 0.0, pixels, 0.0, 1.0, 0.0))


def translate_y(image, pixels):
  return _affine(image, (1.0, 0.0, 0.0, 0.0, 1.0, pixels))


def rotate(image, degrees):
  """Counter-clockwise rotation about the centre, as PIL's ``Image.rotate`` (nearest)."""
  cx = tf.cast(tf.shape(image)[1], tf.float32) / 2.0
  cy = tf.cast(tf.shape(image)[0], tf.float32) / 2.0
  theta = -tf.cast(degrees, tf.float32) * (math.pi / 180.0)
  a, b, d, e = tf.cos(theta), tf.sin(theta), -tf.sin(theta), tf.cos(theta)
  c = a * -cx + b * -cy + cx
  f = d * -cx + e * -cy + cy
  return _affine(image, (a, b, c, d, e, f))


# ----------------------------------------------------------------------------- policies


def apply_op(image, op: str, level: int, sign):
  """Applies ``op`` at magnitude bin ``level``; ``sign`` (±1, a tensor) for signed ops."""
  m = magnitude(op, level, image_size=int(image.shape[0] or 32))
  if op == "invert":
    return invert(image)
  if op == "autocontrast":
    return autocontrast(image)
  if op == "equalize":
    return equalize(image)
  if op == "posterize":
    return posterize(image, int(m))
  if op == "solarize":
    return solarize(image, m)
  if op in ("color", "contrast", "sharpness", "brightness"):
    f = {"color": color, "contrast": contrast, "sharpness": sharpness, "brightness": brightness}[op]
    return f(image, 1.0 + m * sign)
  f = {
    "shearX": shear_x,
    "shearY": shear_y,
    "translateX": translate_x,
    "translateY": translate_y,
    "rotate": rotate,
  }[op]
  return f(image, m * sign)


def autoaugment_cifar10(image, seed):
  """AutoAugment, CIFAR-10 policy, on a ``uint8 [H, W, 3]`` image with a stateless ``seed``."""
  seeds = tf.random.experimental.stateless_split(seed, 5)
  which = tf.random.stateless_uniform([], seeds[0], 0, len(CIFAR10_POLICY), dtype=tf.int32)
  u1 = tf.random.stateless_uniform([], seeds[1])
  u2 = tf.random.stateless_uniform([], seeds[2])
  s1 = tf.where(tf.random.stateless_uniform([], seeds[3]) < 0.5, -1.0, 1.0)
  s2 = tf.where(tf.random.stateless_uniform([], seeds[4]) < 0.5, -1.0, 1.0)

  def branch(sub):
    (p1, op1, l1), (p2, op2, l2) = sub

    def run():
      x = tf.cond(u1 < p1, lambda: apply_op(image, op1, l1, s1), lambda: image)
      return tf.cond(u2 < p2, lambda: apply_op(x, op2, l2, s2), lambda: x)

    return run

  out = tf.switch_case(which, [branch(s) for s in CIFAR10_POLICY])
  return tf.ensure_shape(out, image.shape)


def random_crop_with_padding(image, seed, *, padding: int, size: int):
  """Zero-pads by ``padding`` and crops a random ``size × size`` window."""
  padded = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
  return tf.image.stateless_random_crop(padded, [size, size, tf.shape(image)[-1]], seed)


def cutout(image, seed, length: int):
  """Zeroes one ``length × length`` square (clipped at the border) centred at a random
  pixel (DeVries & Taylor, 2017). The pipelines apply it to the ``uint8`` image before
  normalisation, as the released code does (the hole is black, not the dataset mean)."""
  h, w = tf.shape(image)[0], tf.shape(image)[1]
  s = tf.random.experimental.stateless_split(seed, 2)
  cy = tf.random.stateless_uniform([], s[0], 0, h, dtype=tf.int32)
  cx = tf.random.stateless_uniform([], s[1], 0, w, dtype=tf.int32)
  ys = tf.range(h)[:, None]
  xs = tf.range(w)[None, :]
  inside = (
    (ys >= cy - length // 2)
    & (ys < cy + length // 2)
    & (xs >= cx - length // 2)
    & (xs < cx + length // 2)
  )
  return image * tf.cast(~inside, image.dtype)[..., None]
