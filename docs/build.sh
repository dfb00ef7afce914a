#!/usr/bin/env bash
# Build the HTML documentation into docs/_build/html, from scratch.
#
# Warnings are errors (-W; --keep-going reports all of them before failing),
# and sphinx-gallery runs every example in docs/examples/: one that raises
# fails the build. Nothing is downloaded. Extra arguments go to sphinx-build,
# e.g. `docs/build.sh -D plot_gallery=0` to skip running the examples.
#
# Needs the docs extra: pip install -e ".[docs]"
set -euo pipefail
PYTHON="${PYTHON:-python}"
if [[ "$PYTHON" == */* ]]; then  # a path relative to the caller's directory
    PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
fi
cd "$(dirname "$0")"
rm -rf _build generated auto_examples
"$PYTHON" -m sphinx -W --keep-going -b html . _build/html "$@"
