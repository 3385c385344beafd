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

# Explicit tf.cond / tf.switch_case only: tf.data's AutoGraph must leave these functions alone
# (its conversion of the policy's lambdas fails).
_plain_tf = tf.autograph.experimental.do_not_convert

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


def _per_image(value, image):
  """A scalar, or one value per image of an ``[n, H, W, C]`` batch, shaped to broadcast."""
  value = tf.convert_to_tensor(value)
  return value if value.shape.rank == 0 else tf.reshape(value, [-1, 1, 1, 1])


def _blend(degenerate, image, factor):
  """PIL ImageEnhance: ``degenerate + factor·(image − degenerate)``, clipped to [0, 255]."""
  d = tf.cast(degenerate, tf.float32)
  out = d + _per_image(factor, image) * (tf.cast(image, tf.float32) - d)
  return tf.cast(tf.clip_by_value(tf.floor(out), 0.0, 255.0), tf.uint8)  # PIL truncates


def _grayscale(image):
  # PIL's "L" conversion: L = (299 R + 587 G + 114 B) / 1000, rounded.
  x = tf.cast(image, tf.int32)
  gray = tf.bitwise.right_shift(
    x[..., 0] * 19595 + x[..., 1] * 38470 + x[..., 2] * 7471 + 0x8000, 16
  )
  return tf.cast(gray, tf.uint8)


# Each operation takes one image ``[H, W, 3]`` or a batch ``[n, H, W, 3]`` (uint8); a
# magnitude is a scalar or, for a batch, one value per image.


def invert(image):
  return 255 - image


def color(image, factor):
  gray = tf.repeat(_grayscale(image)[..., None], 3, axis=-1)
  return _blend(gray, image, factor)


def contrast(image, factor):
  mean = tf.reduce_mean(tf.cast(_grayscale(image), tf.float32), axis=(-2, -1), keepdims=True)
  degenerate = tf.cast(tf.floor(mean + 0.5), tf.uint8)[..., None]
  return _blend(tf.broadcast_to(degenerate, tf.shape(image)), image, factor)


def brightness(image, factor):
  return _blend(tf.zeros_like(image), image, factor)


def sharpness(image, factor):
  """PIL's SHARPEN-style smoothing kernel [[1,1,1],[1,5,1],[1,1,1]]/13; borders unchanged."""
  x = tf.cast(image, tf.int32)
  h, w = tf.shape(x)[-3], tf.shape(x)[-2]
  window = lambda dy, dx: x[..., dy : h - 2 + dy, dx : w - 2 + dx, :]  # noqa: E731
  total = 4 * window(1, 1) + sum(window(dy, dx) for dy in range(3) for dx in range(3))
  # PIL rounds the filter output; total / 13 is never a tie, so integer rounding is exact
  smooth = (2 * total + 13) // 26
  pad = [[0, 0]] * (x.shape.rank - 3) + [[1, 1], [1, 1], [0, 0]]
  inner = tf.pad(tf.ones_like(smooth, tf.bool), pad)
  degenerate = tf.where(inner, tf.pad(smooth, pad), x)
  return _blend(degenerate, image, factor)


def posterize(image, bits):
  shift = tf.cast(8 - _per_image(bits, image), tf.uint8)
  return tf.bitwise.left_shift(tf.bitwise.right_shift(image, shift), shift)


def solarize(image, threshold):
  threshold = _per_image(threshold, image)
  return tf.where(tf.cast(image, tf.float32) >= threshold, 255 - image, image)


def autocontrast(image):
  """Per channel, stretch [min, max] to [0, 255] (PIL ImageOps.autocontrast, cutoff 0)."""
  c = tf.cast(image, tf.float64)
  lo = tf.reduce_min(c, axis=(-3, -2), keepdims=True)
  hi = tf.reduce_max(c, axis=(-3, -2), keepdims=True)
  scale = 255.0 / tf.maximum(hi - lo, 1.0)
  out = tf.clip_by_value(tf.floor(c * scale - lo * scale), 0.0, 255.0)  # int(ix·scale + offset)
  return tf.cast(tf.where(hi > lo, out, c), tf.uint8)


def equalize(image):
  """Per-channel histogram equalisation, PIL's ImageOps.equalize algorithm."""
  shape = tf.shape(image)
  # one row of pixels per (image, channel)
  channels_first = tf.experimental.numpy.moveaxis(tf.cast(image, tf.int32), -1, -3)
  rows = tf.reshape(channels_first, [-1, shape[-3] * shape[-2]])
  hist = tf.math.bincount(rows, minlength=256, maxlength=256, axis=-1)
  last = tf.gather(hist, tf.reduce_max(rows, axis=-1), batch_dims=1)  # the top value's count
  step = ((tf.reduce_sum(hist, axis=-1) - last) // 255)[:, None]
  lut = tf.clip_by_value(
    (tf.cumsum(hist, axis=-1) - hist + step // 2) // tf.maximum(step, 1), 0, 255
  )
  out = tf.where(step > 0, tf.gather(lut, rows, batch_dims=1), rows)
  out = tf.experimental.numpy.moveaxis(tf.reshape(out, tf.shape(channels_first)), -3, -1)
  return tf.cast(out, tf.uint8)


# ----------------------------------------------------------------------------- geometric ops


def affine_transform(coeffs, interpolation="NEAREST"):
  """The 8-vector of ``tf.raw_ops.ImageProjectiveTransformV3`` for PIL's affine
  ``(a, b, c, d, e, f)``: output pixel (x, y) samples the input at (a·x + b·y + c,
  d·x + e·y + f) in pixel-corner coordinates. Coefficients may be scalars or ``[n]``
  tensors (then ``[n, 8]``).

  >>> affine_transform((1.0, 0.0, 3.0, 0.0, 1.0, 0.0), "BILINEAR").numpy().tolist()
  [1.0, 0.0, 3.0, 0.0, 1.0, 0.0, 0.0, 0.0]
  """
  a, b, c, d, e, f = (tf.cast(v, tf.float32) for v in coeffs)
  # PIL samples at pixel centres (x + 0.5, y + 0.5) in corner coordinates; TF maps
  # integer (centre) indices, so shift by half a pixel on both sides.
  c = c + 0.5 * (a + b) - 0.5
  f = f + 0.5 * (d + e) - 0.5
  if interpolation == "NEAREST":
    # PIL takes floor(corner coordinate); TF rounds the centre coordinate half to even.
    # They differ only at exact ties, which a tiny shift resolves PIL's way.
    c, f = c + 1e-4, f + 1e-4
  zero = tf.zeros_like(a)
  return tf.stack([a, b, c, d, e, f, zero, zero], axis=-1)


def project(images, transforms, interpolation="NEAREST"):
  """``images [n, H, W, C]`` (uint8) resampled by ``transforms [n, 8]``; grey fill.

  >>> x = tf.reshape(tf.cast(tf.range(1, 10), tf.uint8), [1, 3, 3, 1])
  >>> shift = affine_transform((1.0, 0.0, 1.0, 0.0, 1.0, 0.0))[None]  # sample x + 1
  >>> project(x, shift)[0, ..., 0].numpy().tolist()
  [[2, 3, 128], [5, 6, 128], [8, 9, 128]]
  """
  out = tf.raw_ops.ImageProjectiveTransformV3(
    images=tf.cast(images, tf.float32),
    transforms=transforms,
    output_shape=tf.shape(images)[1:3],
    fill_value=float(FILL),
    interpolation=interpolation,
    fill_mode="CONSTANT",
  )
  return tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)


def _affine(image, coeffs, interpolation="NEAREST"):
  """PIL's ``Image.transform(AFFINE, (a, b, c, d, e, f))`` on one image; grey fill."""
  t = affine_transform(coeffs, interpolation)[None]
  return project(tf.convert_to_tensor(image)[None], t, interpolation)[0]


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


def rotation_coeffs(degrees, height, width):
  """PIL's affine coefficients of ``Image.rotate(degrees)`` (counter-clockwise, about the
  centre) for a ``height × width`` image; ``degrees`` a scalar or ``[n]`` tensor.

  >>> [round(float(v), 3) for v in rotation_coeffs(90.0, 32, 32)]
  [-0.0, -1.0, 32.0, 1.0, -0.0, 0.0]
  """
  cx = tf.cast(width, tf.float32) / 2.0
  cy = tf.cast(height, tf.float32) / 2.0
  theta = -tf.cast(degrees, tf.float32) * (math.pi / 180.0)
  a, b, d, e = tf.cos(theta), tf.sin(theta), -tf.sin(theta), tf.cos(theta)
  c = a * -cx + b * -cy + cx
  f = d * -cx + e * -cy + cy
  return a, b, c, d, e, f


def rotate(image, degrees):
  """Counter-clockwise rotation about the centre, as PIL's ``Image.rotate`` (nearest)."""
  return _affine(image, rotation_coeffs(degrees, tf.shape(image)[0], tf.shape(image)[1]))


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


@_plain_tf
def autoaugment_cifar10(image, seed):
  """AutoAugment, CIFAR-10 policy, on one ``uint8 [H, W, 3]`` image with a stateless ``seed``.

  The per-image form, for a per-example ``map``: the policy is a 25-way ``tf.switch_case``,
  which TF lowers so that every image walks every branch. Pipelines use
  :func:`autoaugment_choice` per image and :func:`apply_autoaugment` per batch instead (the
  same output for the same seed, and only the chosen operations run).
  """
  which, u, sign = _policy_draws(seed)

  def branch(sub):
    (p1, op1, l1), (p2, op2, l2) = sub

    def run():
      x = tf.cond(u[0] < p1, lambda: apply_op(image, op1, l1, sign[0]), lambda: image)
      return tf.cond(u[1] < p2, lambda: apply_op(x, op2, l2, sign[1]), lambda: x)

    return run

  out = tf.switch_case(which, [branch(s) for s in CIFAR10_POLICY])
  return tf.ensure_shape(out, image.shape)


def _policy_draws(seed):
  """The sub-policy index, the two operations' uniforms and their magnitudes' signs."""
  seeds = tf.random.experimental.stateless_split(seed, 5)
  which = tf.random.stateless_uniform([], seeds[0], 0, len(CIFAR10_POLICY), dtype=tf.int32)
  u = tf.stack([tf.random.stateless_uniform([], seeds[i]) for i in (1, 2)])
  sign = tf.stack(
    [tf.where(tf.random.stateless_uniform([], seeds[i]) < 0.5, -1.0, 1.0) for i in (3, 4)]
  )
  return which, u, sign


OPS = (
  "invert",
  "autocontrast",
  "equalize",
  "posterize",
  "solarize",
  "color",
  "contrast",
  "sharpness",
  "brightness",
  "shearX",
  "shearY",
  "translateX",
  "translateY",
  "rotate",
)
_ENHANCE = ("color", "contrast", "sharpness", "brightness")
_SIGNED = (*_ENHANCE, "shearX", "shearY", "translateX", "translateY", "rotate")


@_plain_tf
def autoaugment_choice(seed, image_size: int = 32):
  """What :func:`autoaugment_cifar10` does to an image with ``seed``, without doing it.

  Returns ``(op, value)``, each of shape ``[2]``: the index in :data:`OPS` of the sub-policy's
  first and second operation, or −1 where its probability skips it, and the operation's
  argument (enhancement factor, signed shear, translation in pixels or degrees, bits kept,
  solarize threshold). Cheap enough for a per-image ``map``; :func:`apply_autoaugment` applies
  a batch's choices.

  >>> op, value = autoaugment_choice(tf.constant([0, 7], tf.int64))
  >>> op.shape, value.dtype.name
  (TensorShape([2]), 'float32')
  """
  which, u, sign = _policy_draws(seed)
  table = lambda f, dtype: tf.constant(  # noqa: E731
    [[f(*o) for o in sub] for sub in CIFAR10_POLICY], dtype
  )
  op = tf.gather(table(lambda p, o, lv: OPS.index(o), tf.int32), which)
  prob = tf.gather(table(lambda p, o, lv: p, tf.float32), which)
  m = tf.gather(table(lambda p, o, lv: magnitude(o, lv, image_size), tf.float32), which)
  kind = lambda names: tf.gather(tf.constant([o in names for o in OPS]), op)  # noqa: E731
  value = tf.where(kind(_ENHANCE), 1.0 + m * sign, tf.where(kind(_SIGNED), m * sign, m))
  return tf.where(u < prob, op, -1), value


def _nearest_coeffs(op, v, height, width):
  """Affine coefficients of translateX, translateY or rotate (``op``) by ``v``, per image."""
  one, zero = tf.ones_like(v), tf.zeros_like(v)
  rot = rotation_coeffs(v, height, width)
  tx = (one, zero, v, zero, one, zero)
  ty = (one, zero, zero, zero, one, v)
  is_tx, is_ty = op == OPS.index("translateX"), op == OPS.index("translateY")
  return tuple(tf.where(is_tx, a, tf.where(is_ty, b, r)) for a, b, r in zip(tx, ty, rot))


def _shear_coeffs(op, v):
  one, zero = tf.ones_like(v), tf.zeros_like(v)
  is_x = op == OPS.index("shearX")
  return (one, tf.where(is_x, v, zero), zero, tf.where(is_x, zero, v), one, zero)


def _stage_groups(height, width):
  """(operations, batched function of (images, values, ops)) for one pass over a batch."""
  single = {
    "invert": lambda x, v, o: invert(x),
    "autocontrast": lambda x, v, o: autocontrast(x),
    "equalize": lambda x, v, o: equalize(x),
    "posterize": lambda x, v, o: posterize(x, v),
    "solarize": lambda x, v, o: solarize(x, v),
    "color": lambda x, v, o: color(x, v),
    "contrast": lambda x, v, o: contrast(x, v),
    "sharpness": lambda x, v, o: sharpness(x, v),
    "brightness": lambda x, v, o: brightness(x, v),
  }
  groups = [((name,), f) for name, f in single.items()]
  groups.append(
    (
      ("shearX", "shearY"),
      lambda x, v, o: project(x, affine_transform(_shear_coeffs(o, v), "BILINEAR"), "BILINEAR"),
    )
  )
  groups.append(
    (
      ("translateX", "translateY", "rotate"),
      lambda x, v, o: project(x, affine_transform(_nearest_coeffs(o, v, height, width))),
    )
  )
  return groups


@_plain_tf
def apply_autoaugment(images, op, value):
  """Applies the choices of :func:`autoaugment_choice` to a batch ``uint8 [n, H, W, 3]``
  (``op`` and ``value`` of shape ``[n, 2]``): the same images as :func:`autoaugment_cifar10`
  with the same seeds. Each operation runs once per pass, on just the images that chose it.

  >>> seeds = tf.constant([[0, i] for i in range(4)], tf.int64)
  >>> images = tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], 0, 256, tf.int32)
  >>> images = tf.cast(images, tf.uint8)
  >>> op, value = tf.map_fn(autoaugment_choice, seeds, fn_output_signature=(tf.int32, tf.float32))
  >>> batch = apply_autoaugment(images, op, value)
  >>> one = [autoaugment_cifar10(images[i], seeds[i]) for i in range(4)]
  >>> bool(tf.reduce_all(batch == tf.stack(one)))
  True
  """
  images = tf.convert_to_tensor(images)
  height, width = tf.shape(images)[1], tf.shape(images)[2]
  groups = _stage_groups(height, width)
  for k in range(2):
    o, v = op[:, k], value[:, k]
    for names, f in groups:
      ids = tf.constant([OPS.index(n) for n in names], tf.int32)
      idx = tf.where(tf.reduce_any(o[:, None] == ids[None, :], axis=1))
      out = f(tf.gather_nd(images, idx), tf.gather_nd(v, idx), tf.gather_nd(o, idx))
      images = tf.tensor_scatter_nd_update(images, idx, out)
  return images


def random_crop_with_padding(image, seed, *, padding: int, size: int):
  """Zero-pads by ``padding`` and crops a random ``size × size`` window."""
  padded = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
  return tf.image.stateless_random_crop(padded, [size, size, tf.shape(image)[-1]], seed)


def cutout_centre(seed, height, width):
  """The random centre ``[y, x]`` (int32) of :func:`cutout`'s hole for ``seed``.

  >>> c = cutout_centre(tf.constant([0, 1], tf.int64), 32, 32)
  >>> c.shape, bool(tf.reduce_all((c >= 0) & (c < 32)))
  (TensorShape([2]), True)
  """
  s = tf.random.experimental.stateless_split(seed, 2)
  cy = tf.random.stateless_uniform([], s[0], 0, height, dtype=tf.int32)
  cx = tf.random.stateless_uniform([], s[1], 0, width, dtype=tf.int32)
  return tf.stack([cy, cx])


def apply_cutout(image, centre, length: int):
  """Zeroes the ``length × length`` square centred at ``centre`` (``[2]``, or ``[n, 2]`` for
  a batch ``[n, H, W, C]``), clipped at the border.

  >>> x = tf.ones([1, 6, 6, 1], tf.uint8)
  >>> apply_cutout(x, tf.constant([[0, 0]]), 4)[0, ..., 0].numpy().sum()  # a 2×2 corner
  np.uint64(32)
  """
  image = tf.convert_to_tensor(image)
  shape = tf.shape(image)
  centre = tf.reshape(tf.cast(centre, tf.int32), [-1, 2])
  cy, cx = centre[:, 0, None, None], centre[:, 1, None, None]
  ys = tf.range(shape[-3])[None, :, None]
  xs = tf.range(shape[-2])[None, None, :]
  inside = (
    (ys >= cy - length // 2)
    & (ys < cy + length // 2)
    & (xs >= cx - length // 2)
    & (xs < cx + length // 2)
  )
  keep = tf.cast(~inside, image.dtype)[..., None]
  return image * (keep[0] if image.shape.rank == 3 else keep)


def cutout(image, seed, length: int):
  """Zeroes one ``length × length`` square (clipped at the border) centred at a random
  pixel (DeVries & Taylor, 2017). The pipelines apply it to the ``uint8`` image before
  normalisation, as the released code does (the hole is black, not the dataset mean)."""
  shape = tf.shape(image)
  return apply_cutout(image, cutout_centre(seed, shape[0], shape[1]), length)
