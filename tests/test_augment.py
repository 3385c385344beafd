"""AutoAugment operations against PIL, the reference they follow; crop and Cutout."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from PIL import Image, ImageEnhance, ImageOps  # noqa: E402

from asgl_jax.data import augment as A  # noqa: E402


@pytest.fixture(scope="module")
def img():
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
  return (x * 0.5 + np.linspace(0, 100, 32)[:, None, None]).astype(np.uint8)


GREY = (128, 128, 128)


def _same(ours, ref, max_frac=0.0):
  d = np.abs(np.asarray(ours, int) - np.asarray(ref, int))
  assert np.mean(d > 0) <= max_frac, (d.max(), np.mean(d > 0))


@pytest.mark.parametrize("factor", [0.1, 0.55, 1.0, 1.9])
@pytest.mark.parametrize("op", ["color", "contrast", "brightness", "sharpness"])
def test_enhance_ops_match_pil(img, op, factor):
  pil_op = {
    "color": ImageEnhance.Color,
    "contrast": ImageEnhance.Contrast,
    "brightness": ImageEnhance.Brightness,
    "sharpness": ImageEnhance.Sharpness,
  }[op]
  _same(getattr(A, op)(img, factor), pil_op(Image.fromarray(img)).enhance(factor))


def test_lut_ops_match_pil(img):
  pil = Image.fromarray(img)
  _same(A.invert(img), ImageOps.invert(pil))
  for bits in (4, 6, 8):
    _same(A.posterize(img, bits), ImageOps.posterize(pil, bits))
  for t in (0.0, 28.4, 100.0, 256.0):
    _same(A.solarize(img, t), ImageOps.solarize(pil, t))
  _same(A.autocontrast(img), ImageOps.autocontrast(pil))
  _same(A.equalize(img), ImageOps.equalize(pil))
  flat = np.full((8, 8, 3), 7, np.uint8)  # constant image: both leave it alone
  _same(A.autocontrast(flat), ImageOps.autocontrast(Image.fromarray(flat)))
  _same(A.equalize(flat), ImageOps.equalize(Image.fromarray(flat)))


def test_geometric_ops_match_pil(img):
  pil = Image.fromarray(img)
  for t in (-14.5, -3.0, 7.0, 14.5):
    _same(
      A.translate_x(img, t),
      pil.transform(pil.size, Image.AFFINE, (1, 0, t, 0, 1, 0), fillcolor=GREY),
    )
    _same(
      A.translate_y(img, t),
      pil.transform(pil.size, Image.AFFINE, (1, 0, 0, 0, 1, t), fillcolor=GREY),
    )
  for deg in (90.0, 6.67, -20.0, 30.0):
    rot = pil.convert("RGBA").rotate(deg)
    ref = Image.composite(rot, Image.new("RGBA", rot.size, (*GREY, 255)), rot).convert("RGB")
    _same(A.rotate(img, deg), ref, max_frac=0.005)  # float rounding at a few boundary pixels
  # Shear: PIL samples bicubically, TF offers bilinear; same geometry, so the images agree
  # closely in value (and exactly in the fill region).
  for m in (-0.3, 0.2):
    ours = np.asarray(A.shear_x(img, m), float)
    ref = np.asarray(
      pil.transform(pil.size, Image.AFFINE, (1, m, 0, 0, 1, 0), Image.BICUBIC, fillcolor=GREY),
      float,
    )
    assert np.mean(np.abs(ours - ref)) < 12.0


def test_magnitudes_follow_the_policy_bins():
  assert A.magnitude("rotate", 9) == pytest.approx(30.0)
  assert A.magnitude("translateX", 9, image_size=32) == pytest.approx(150 / 331 * 32)
  assert A.magnitude("posterize", 0) == 8 and A.magnitude("posterize", 9) == 4
  assert A.magnitude("solarize", 0) == 256 and A.magnitude("solarize", 9) == 0
  assert len(A.CIFAR10_POLICY) == 25


def test_autoaugment_is_deterministic_per_seed_and_varies_across_seeds(img):
  x = tf.constant(img)
  a = A.autoaugment_cifar10(x, tf.constant([3, 4], tf.int64))
  b = A.autoaugment_cifar10(x, tf.constant([3, 4], tf.int64))
  np.testing.assert_array_equal(a, b)
  outs = [A.autoaugment_cifar10(x, tf.constant([s, 0], tf.int64)).numpy() for s in range(30)]
  assert sum(not np.array_equal(o, img) for o in outs) >= 10
  assert all(o.shape == img.shape and o.dtype == np.uint8 for o in outs)


def test_random_crop_and_cutout():
  x = tf.reshape(tf.range(32 * 32 * 3, dtype=tf.float32), (32, 32, 3)) + 1
  c = A.random_crop_with_padding(x, tf.constant([1, 2], tf.int64), padding=4, size=32)
  assert c.shape == (32, 32, 3)
  cut = A.cutout(x, tf.constant([5, 6], tf.int64), 16).numpy()
  zeros = np.all(cut == 0, axis=-1)
  ys, xs = np.nonzero(zeros)
  assert 0 < zeros.sum() <= 256
  assert ys.max() - ys.min() < 16 and xs.max() - xs.min() < 16


@pytest.mark.parametrize("size", [32, 64])
def test_batched_autoaugment_equals_the_per_image_policy(size):
  # Per image, the policy's switch_case; per batch, each operation on the images that chose it.
  n = 300
  rng = np.random.default_rng(size)
  images = tf.constant(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8))
  seeds = tf.constant([[11, i] for i in range(n)], tf.int64)
  op, value = tf.map_fn(
    lambda s: A.autoaugment_choice(s, size), seeds, fn_output_signature=(tf.int32, tf.float32)
  )
  in_policy = {A.OPS.index(o) for sub in A.CIFAR10_POLICY for _, o, _ in sub}
  assert set(np.unique(op)) == in_policy | {-1}  # every operation of the policy, and none
  batched = A.apply_autoaugment(images, op, value).numpy()
  for i in range(n):
    np.testing.assert_array_equal(batched[i], A.autoaugment_cifar10(images[i], seeds[i]), str(i))
  # a small batch leaves most operations with no image
  few = A.apply_autoaugment(images[:3], op[:3], value[:3]).numpy()
  np.testing.assert_array_equal(few, batched[:3])


def test_batched_cutout_equals_the_per_image_one():
  x = tf.constant(np.random.default_rng(1).integers(1, 256, (5, 32, 32, 3), dtype=np.uint8))
  seeds = [tf.constant([7, i], tf.int64) for i in range(5)]
  centres = tf.stack([A.cutout_centre(s, 32, 32) for s in seeds])
  np.testing.assert_array_equal(
    A.apply_cutout(x, centres, 16), tf.stack([A.cutout(x[i], seeds[i], 16) for i in range(5)])
  )
