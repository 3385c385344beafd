"""Event-camera file formats and event framing (no dataset policy: see :mod:`asgl_jax.data.events`).

An event is ``(t [µs], x, y, polarity)`` from a 128×128 DVS sensor. Readers return
``{"t", "x", "y", "p"}`` arrays; framing turns them into per-pixel, per-polarity counts,
densely (:func:`events_to_frames`) or sparsely for long recordings (:class:`SparseClips`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

SENSOR_SIZE = 128
POLARITIES = 2

# ----------------------------------------------------------------------------- readers


def _skip_header(data: bytes, *, end_marker: bytes | None = None, path: str = "") -> int:
  """Offset of the first byte after the ``#``-prefixed ASCII header lines."""
  if end_marker is not None:
    i = data.find(end_marker)
    if i < 0:
      raise ValueError(f"{path}: no {end_marker!r} line ending the header: not an AEDAT 3.1 file")
    return i + len(end_marker)
  pos = 0
  while pos < len(data) and data[pos : pos + 1] == b"#":
    nl = data.find(b"\n", pos)
    if nl < 0:
      return len(data)
    pos = nl + 1
  return pos


def read_aedat2_cifar10dvs(path: str) -> dict[str, np.ndarray]:
  """Events ``{"t", "x", "y", "p"}`` of one DVS-CIFAR10 recording (jAER AEDAT 2.0).

  Coordinates are oriented as SpikingJelly's ``CIFAR10DVS`` (``x' = 127 − y``, ``y' = 127 − x``,
  ``p' = 1 − p``), so the frames match those the released code trained on.
  """
  with open(path, "rb") as f:
    data = f.read()
  if not data.startswith(b"#!AER-DAT2.0"):
    raise ValueError(f"{path}: not an AEDAT 2.0 file (it does not start with '#!AER-DAT2.0')")
  body = data[_skip_header(data) :]
  if len(body) % 8:
    raise ValueError(f"{path}: {len(body)} event bytes is not a whole number of 8-byte events")
  if not body:
    raise ValueError(f"{path}: no events after the header (a truncated recording?)")
  words = np.frombuffer(body, dtype=">u4")
  addr, t = words[0::2], words[1::2]
  x = (addr & 0xFE) >> 1
  y = (addr & 0x7F00) >> 8
  p = addr & 1
  return {
    "t": t.astype(np.int64),
    "x": (127 - y).astype(np.int16),
    "y": (127 - x).astype(np.int16),
    "p": (1 - p).astype(np.int8),
  }


def read_aedat31_polarity(path: str) -> dict[str, np.ndarray]:
  """Valid polarity events ``{"t", "x", "y", "p"}`` of an AEDAT 3.1 file (DVS128 Gesture).

  After the ``#!END-HEADER`` line the file is a sequence of packets: a 28-byte little-endian
  header (eventType int16, eventSource int16, eventSize, eventTSOffset, eventTSOverflow,
  eventCapacity, eventNumber, eventValid: int32) followed by ``eventCapacity · eventSize``
  bytes. Polarity events (type 1) are ``(data uint32, timestamp int32)`` with valid = bit 0,
  polarity = bit 1, y = bits 2–16, x = bits 17–31; the full timestamp is
  ``timestamp | tsOverflow << 31``. Other event types are skipped.
  """
  with open(path, "rb") as f:
    data = f.read()
  if not data.startswith(b"#!AER-DAT3.1"):
    raise ValueError(f"{path}: not an AEDAT 3.1 file (it does not start with '#!AER-DAT3.1')")
  pos = _skip_header(data, end_marker=b"#!END-HEADER\r\n", path=path)
  header_dtype = np.dtype(
    [
      ("type", "<i2"),
      ("source", "<i2"),
      ("size", "<i4"),
      ("ts_offset", "<i4"),
      ("ts_overflow", "<i4"),
      ("capacity", "<i4"),
      ("number", "<i4"),
      ("valid", "<i4"),
    ]
  )
  chunks = []
  while pos + 28 <= len(data):
    h = np.frombuffer(data, header_dtype, count=1, offset=pos)[0]
    pos += 28
    nbytes = int(h["capacity"]) * int(h["size"])
    if nbytes < 0 or pos + nbytes > len(data):
      raise ValueError(f"{path}: truncated packet at byte {pos - 28}")
    if h["type"] == 1:
      if h["size"] < 8:
        raise ValueError(f"{path}: polarity events of {h['size']} bytes (expected >= 8)")
      ev = np.frombuffer(data, "<u4", count=nbytes // 4, offset=pos).reshape(-1, h["size"] // 4)
      word, ts = ev[:, 0], ev[:, 1].astype(np.int64) | (np.int64(h["ts_overflow"]) << 31)
      keep = (word & 1).astype(bool)
      chunks.append((ts[keep], (word[keep] >> 17) & 0x7FFF, (word[keep] >> 2) & 0x7FFF, word[keep]))
    pos += nbytes
  if not chunks:
    return {k: np.zeros(0, d) for k, d in zip("txyp", (np.int64, np.int16, np.int16, np.int8))}
  t, x, y, w = (np.concatenate(c) for c in zip(*chunks))
  for name, v in (("x", x), ("y", y)):
    if len(v) and int(v.max()) >= SENSOR_SIZE:
      raise ValueError(
        f"{path}: polarity event {name} = {int(v.max())} is outside the "
        f"{SENSOR_SIZE}×{SENSOR_SIZE} DVS128 sensor"
      )
  return {
    "t": t,
    "x": x.astype(np.int16),
    "y": y.astype(np.int16),
    "p": ((w >> 1) & 1).astype(np.int8),
  }


# ----------------------------------------------------------------------------- framing


def events_to_frames(
  events: dict[str, np.ndarray],
  *,
  num_frames: int,
  split_by: str = "number",
  sensor_size: int = SENSOR_SIZE,
) -> np.ndarray:
  """Event counts ``[num_frames, H, W, 2]`` (float32) of one recording.

  ``split_by="number"``: frame ``i`` holds events ``[i·⌊N/T⌋, (i+1)·⌊N/T⌋)`` of the ``N``
  events in recording order (the last frame takes the remainder), as SpikingJelly's
  ``integrate_events_by_fixed_frames_number``. ``"time"``: the span ``[t_0, t_N]`` is cut into
  ``T`` equal intervals.
  """
  if num_frames < 1:
    raise ValueError(f"events_to_frames: num_frames must be >= 1, got {num_frames}")
  t, x, y, p = (np.asarray(events[k]) for k in "txyp")
  n = len(t)
  if split_by == "number":
    frame = np.minimum(np.arange(n) // max(n // num_frames, 1), num_frames - 1)
  elif split_by == "time":
    span = max(int(t.max() - t.min()), 1) if n else 1
    frame = np.minimum((t - (t.min() if n else 0)) * num_frames // span, num_frames - 1)
  else:
    raise ValueError(f"events_to_frames: split_by must be 'number' or 'time', got {split_by!r}")
  s = sensor_size
  for name, v, hi in (("x", x, s), ("y", y, s), ("p", p, POLARITIES)):
    if n and (int(v.min()) < 0 or int(v.max()) >= hi):
      raise ValueError(
        f"events_to_frames: {name} must be in [0, {hi}), got [{int(v.min())}, {int(v.max())}]"
      )
  flat = ((frame * s + y.astype(np.int64)) * s + x) * POLARITIES + p
  out = np.bincount(flat, minlength=num_frames * s * s * POLARITIES)
  return out.reshape(num_frames, s, s, POLARITIES).astype(np.float32)


def area_resize_matrix(in_size: int, out_size: int) -> np.ndarray:
  """``[out_size, in_size]`` box-filter resampling: row ``i`` averages input ``[i·s, (i+1)·s)``
  with ``s = in_size / out_size``, weighting each input pixel by its overlap."""
  edges = np.arange(out_size + 1) * (in_size / out_size)
  lo, hi = edges[:-1, None], edges[1:, None]
  j = np.arange(in_size)[None, :]
  overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
  return overlap / (in_size / out_size)


FRAME_VALUES = ("counts", "release")


def frame_values(counts: np.ndarray, kind: str = "counts") -> np.ndarray:
  """What a frame pixel holds: its event ``"counts"``, or ``"release"``: ``(255·n mod 256)/255``,
  what the released DVS-CIFAR10 code feeds its network (torchvision's ``ToPILImage`` turns
  the float count frame into bytes by ``n·255`` cast to ``uint8``, which wraps; ``ToTensor``
  divides by 255), so every count from 1 to 255 becomes ``1 − (n − 1)/255`` ≈ 1: binary.

  >>> [round(float(v), 4) for v in frame_values(np.array([0, 1, 2, 10]), "release")]
  [0.0, 1.0, 0.9961, 0.9647]
  """
  if kind not in FRAME_VALUES:
    raise ValueError(f"frame_values: kind must be one of {FRAME_VALUES}, got {kind!r}")
  if kind == "counts":
    return counts
  return np.mod(255 * np.asarray(counts, np.int64), 256).astype(np.float32) / 255.0


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
  """Area-resizes ``[..., H, W, C]`` frames (square) to ``[..., size, size, C]``."""
  if frames.shape[-2] == size:
    return frames
  r = area_resize_matrix(frames.shape[-2], size)
  return np.einsum("ih,...hwc,jw->...ijc", r, frames, r, optimize=True)


@dataclasses.dataclass
class SparseClips:
  """Variable-length frame sequences stored sparsely: sample ``n`` is the entries
  ``offsets[n]:offsets[n+1]`` of ``flat`` (sorted ``frame·F + pixel`` indices, ``F = H·W·2``)
  with event ``counts``; it has ``num_bins[n]`` frames."""

  flat: np.ndarray
  counts: np.ndarray
  offsets: np.ndarray
  num_bins: np.ndarray
  frame_shape: tuple[int, int, int]

  def __len__(self) -> int:
    return len(self.num_bins)

  def subset(self, idx: np.ndarray) -> SparseClips:
    parts = [slice(self.offsets[i], self.offsets[i + 1]) for i in idx]
    sizes = np.array([s.stop - s.start for s in parts], np.int64)
    return SparseClips(
      np.concatenate([self.flat[s] for s in parts]) if parts else self.flat[:0],
      np.concatenate([self.counts[s] for s in parts]) if parts else self.counts[:0],
      np.concatenate([[0], np.cumsum(sizes)]),
      self.num_bins[idx],
      self.frame_shape,
    )

  def clips(self, idx, starts, num_frames: int) -> np.ndarray:
    """Dense clips ``[len(idx), num_frames, H, W, 2]`` (uint16 counts) of frames
    ``[start, start + num_frames)``; frames past a sample's end are zero."""
    f = int(np.prod(self.frame_shape))
    out = np.zeros((len(idx), num_frames * f), np.uint16)
    for b, (i, s) in enumerate(zip(idx, starts)):
      flat = self.flat[self.offsets[i] : self.offsets[i + 1]]
      lo, hi = np.searchsorted(flat, [s * f, (s + num_frames) * f])
      out[b, flat[lo:hi] - s * f] = self.counts[self.offsets[i] + lo : self.offsets[i] + hi]
    return out.reshape(len(idx), num_frames, *self.frame_shape)

  def concatenate(self, other: SparseClips) -> SparseClips:
    return SparseClips(
      np.concatenate([self.flat, other.flat]),
      np.concatenate([self.counts, other.counts]),
      np.concatenate([self.offsets[:-1], other.offsets + self.offsets[-1]]),
      np.concatenate([self.num_bins, other.num_bins]),
      self.frame_shape,
    )


def sparse_frames(t, x, y, p, *, t0: int, t1: int, frame_us: int, frame_size: int):
  """Sorted flat indices and counts of the events in ``[t0, t1)``, and the number of bins."""
  keep = (t >= t0) & (t < t1)
  f = SENSOR_SIZE // frame_size
  b = (t[keep] - t0) // frame_us
  flat = ((b * frame_size + y[keep] // f) * frame_size + x[keep] // f) * POLARITIES + p[keep]
  flat, counts = np.unique(flat, return_counts=True)
  return flat, counts, -(-(t1 - t0) // frame_us)
