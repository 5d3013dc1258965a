"""Shared by the seed scripts: write a harness's seeds into
tests/fuzz/corpus/<harness>/, one file per seed."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, seeds):
    out = os.path.join(HERE, "corpus", name)
    os.makedirs(out, exist_ok=True)
    for seed, data in seeds.items():
        with open(os.path.join(out, seed), "wb") as f:
            f.write(data)
