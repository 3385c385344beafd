"""A tfds builder for Tiny-ImageNet (200 classes, 64×64 RGB; 100,000 train / 10,000 validation).

tfds has no Tiny-ImageNet builder; importing this module registers
``tiny_imagenet``. ``download_and_prepare()`` downloads the official archive
``tiny-imagenet-200.zip`` (about 250 MB). Offline, put that zip in the manual
directory (``<data_dir>/downloads/manual/`` by default) and it is used instead.

Archive layout (read as released)::

    tiny-imagenet-200/wnids.txt                         200 WordNet ids, one per line
    tiny-imagenet-200/train/<wnid>/images/*.JPEG        500 per class
    tiny-imagenet-200/val/images/*.JPEG                 10,000
    tiny-imagenet-200/val/val_annotations.txt           file \\t wnid \\t x0 \\t y0 \\t x1 \\t y1
    tiny-imagenet-200/test/images/*.JPEG                unlabelled (not used)

Labels are indices into the sorted WordNet ids; a few images are greyscale
and are converted to RGB.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
ARCHIVE = "tiny-imagenet-200.zip"


class TinyImagenet(tfds.core.GeneratorBasedBuilder):
  """Tiny-ImageNet-200."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release (asgl_jax)."}  # noqa: RUF012  (tfds API)
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
    f"Optional: place {ARCHIVE} (from {URL}) in the manual dir to skip the download."
  )

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict(
        {
          "image": tfds.features.Image(shape=(64, 64, 3)),
          "label": tfds.features.ClassLabel(num_classes=200),
          "wnid": tfds.features.Text(),
        }
      ),
      supervised_keys=("image", "label"),
      homepage="http://cs231n.stanford.edu/",
    )

  def _split_generators(self, dl_manager):
    manual = None
    try:
      candidate = os.path.join(str(dl_manager.manual_dir), ARCHIVE)
      manual = candidate if os.path.exists(candidate) else None
    except AssertionError:  # no manual dir configured
      manual = None
    extracted = dl_manager.extract(manual) if manual else dl_manager.download_and_extract(URL)
    root = os.path.join(str(extracted), "tiny-imagenet-200")
    with open(os.path.join(root, "wnids.txt")) as f:
      wnids = sorted(line.strip() for line in f if line.strip())
    index = {w: i for i, w in enumerate(wnids)}
    return {
      "train": self._generate_examples(root, "train", index),
      "validation": self._generate_examples(root, "validation", index),
    }

  def _generate_examples(self, root, split, index):
    if split == "train":
      for wnid in sorted(index):
        folder = os.path.join(root, "train", wnid, "images")
        for name in sorted(os.listdir(folder)):
          yield name, _example(os.path.join(folder, name), wnid, index)
    else:
      with open(os.path.join(root, "val", "val_annotations.txt")) as f:
        rows = [line.split("\t")[:2] for line in f if line.strip()]
      for name, wnid in sorted(rows):
        yield name, _example(os.path.join(root, "val", "images", name), wnid, index)


def _example(path, wnid, index):
  with Image.open(path) as im:
    image = np.asarray(im.convert("RGB"), np.uint8)
  return {"image": image, "label": index[wnid], "wnid": wnid}
