"""Drive one ES-ENAS run from Python with ask/tell: ``python examples/ask_tell.py CONFIG OUT_DIR``.

OUT_DIR gets the same files as ``esenas run CONFIG --run-dir OUT_DIR``, and metrics.csv the same
numbers bit for bit (all but the timing columns), on every backend.
"""

import sys

from esenas_core import Search


def main(config: str, out_dir: str) -> None:
    with Search(config, run_dir=out_dir) as search:
        while not search.done:
            asked = search.ask()  # genomes, perturbation seeds and signs, env seeds
            results = search.evaluate(asked)  # the config's backend; or your own returns
            row = search.tell(asked, results)  # None: below the quorum, the next ask retries
            if row is not None:
                print(f"iteration {row['iteration']}: score {row['score_mean']:.2f}")
    print(search.summary())


if __name__ == "__main__":
    main(*sys.argv[1:3])
