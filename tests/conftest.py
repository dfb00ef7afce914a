"""Test-suite settings."""

import torch

# Small networks on a shared 2-core machine: torch's default of one OpenMP
# thread per core slows them down many times over when the other core is
# busy. One thread keeps the suite's run time steady; it changes no result
# the tests check.
torch.set_num_threads(1)
