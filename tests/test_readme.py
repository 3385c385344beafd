"""The README's Python examples run and print what the README says they print."""

import doctest
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_examples_run_as_shown():
  path = os.path.join(ROOT, "README.md")
  text = open(path, encoding="utf-8").read()
  blocks = [b.split("```")[0] for b in text.split("```python")[1:]]
  assert blocks and all(">>>" in b for b in blocks), "every Python block is a doctest session"
  runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
  parser = doctest.DocTestParser()
  globs: dict = {}
  for i, block in enumerate(blocks):
    runner.run(parser.get_doctest(block, globs, f"README block {i}", path, 0))
  result = runner.summarize(verbose=False)
  assert result.attempted >= 5 and result.failed == 0, result
