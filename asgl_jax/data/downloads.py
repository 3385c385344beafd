"""Dataset downloads with checksums, through `pooch <https://www.fatiando.org/pooch>`_.

:func:`fetch` downloads a file once into the dataset's folder, verifies its MD5 before it is
kept (a wrong or truncated file is deleted, never used), and turns a network failure into a
:class:`FileNotFoundError` that says where to put the file by hand.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import urllib.parse

# What to do when a dataset cannot be downloaded here (appended to every such message).
OFFLINE_HINT = (
  "Without internet, pass --config.dataset.download=False to fail at once when the data is "
  "absent, and --config.dataset.data_dir=... to point at a copy made elsewhere."
)


def fetch(url: str, path: str, *, md5: str, dataset: str, manual: str) -> str:
  """``path``, downloaded from ``url`` first if it does not exist, with MD5 ``md5``.

  Args:
    url: where the file is published.
    path: where it is kept (its folder is created).
    md5: the published MD5 (hex); a download that does not match raises ``ValueError``.
    dataset: the dataset's name, for messages.
    manual: what to do by hand where there is no internet (appended to the error).

  Returns:
    ``path``.

  Example:
    >>> import hashlib, os, tempfile
    >>> from asgl_jax.data import downloads
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "a.txt")
    >>> with open(path, "w") as f:
    ...   _ = f.write("spikes")
    >>> downloads.fetch("https://example.invalid/a.txt", path, dataset="demo", manual="",
    ...                 md5=hashlib.md5(b"spikes").hexdigest()) == path  # present: no download
    True
  """
  if os.path.exists(path):
    return path
  check_online(
    url, dataset=dataset, manual=f"Put the file at {path} by hand. {manual} {OFFLINE_HINT}"
  )
  import pooch

  folder, name = os.path.split(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  print(f"{dataset}: downloading {url} -> {path}", file=sys.stderr)
  try:
    pooch.retrieve(
      url,
      known_hash=f"md5:{md5}",
      fname=name,
      path=folder,
      progressbar=importlib.util.find_spec("tqdm") is not None,
    )
  except ValueError as e:  # pooch: the checksum does not match (the file is not kept)
    raise ValueError(
      f"{dataset}: {url} downloaded with a wrong MD5 (expected {md5}): {e}"
    ) from None
  except OSError as e:  # requests' errors are OSErrors
    raise FileNotFoundError(
      f"{dataset}: {path} not found and the download from {url} failed ({e}). {manual}"
    ) from None
  return path


def check_online(url: str, *, dataset: str, manual: str = "", timeout: float = 5.0) -> None:
  """Raises :class:`FileNotFoundError` within ``timeout`` seconds if ``url``'s host cannot be
  reached (no DNS, no route, a firewall), instead of a download library's minutes of retries.

  Example:
    >>> from asgl_jax.data import downloads
    >>> try:
    ...   downloads.check_online("https://nowhere.invalid/x.zip", dataset="demo", timeout=1)
    ... except FileNotFoundError as e:
    ...   print(str(e)[:52])
    demo: cannot reach nowhere.invalid to download https
  """
  if not timeout > 0:
    raise ValueError(f"check_online: timeout must be > 0, got {timeout!r}")
  parts = urllib.parse.urlsplit(url)
  if not parts.hostname:
    raise ValueError(f"check_online: {url!r} has no host")
  port = parts.port or (443 if parts.scheme == "https" else 80)
  try:
    with socket.create_connection((parts.hostname, port), timeout=timeout):
      pass
  except OSError as e:
    raise FileNotFoundError(
      f"{dataset}: cannot reach {parts.hostname} to download {url} ({e}). {manual}".rstrip()
    ) from None
