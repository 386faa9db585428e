"""Helpers the tests and the bench share: running the `billing` executable with a clean
environment, a Tansu broker, `billing serve` and `billing web` as subprocesses.

Not installed with the package: imported from the checkout (pytest puts the repository
root on `sys.path`, see `pythonpath` in pyproject.toml; `python -m bench` runs from it).
Nothing here imports pytest, `tests` or `bench`: the pytest fixtures stay in tests/.
"""
