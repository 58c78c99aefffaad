"""``python -m harness.cli``: the same as the ``rth`` script."""

from harness.cli import app

if __name__ == "__main__":
    app()
