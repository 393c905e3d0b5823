"""How much exact compaction could save: per ticket level, the inputs and hidden units that a mask
cuts off entirely (no surviving weight into or out of them), which a compacted product could drop.

Reads the lecture experiment's stored tickets (run the notebooks or `python -m ticketlab run` first):

    .venv/bin/python tools/compaction_room.py [--seed 0]
"""

import argparse

from ticketlab.lottery import ExperimentConfig
from ticketlab.store import Store, run_key


def dead_units(mask: dict) -> dict[str, int]:
    """Inputs of fc1 with no outgoing survivor; hidden units of fc1/fc2 with no incoming or no outgoing one."""
    w1, w2, w3 = (mask[f"fc{i}.weight"].bool() for i in (1, 2, 3))
    return {
        "dead inputs": int((~w1.any(0)).sum()),
        "dead hidden 1": int((~w1.any(1) | ~w2.any(0)).sum()),
        "dead hidden 2": int((~w2.any(1) | ~w3.any(0)).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    seed = parser.parse_args().seed
    config, store = ExperimentConfig.at_scale("lecture"), Store()
    print("round  fc1 density  dead inputs (of 784)  dead hidden 1 (of 300)  dead hidden 2 (of 100)")
    for round_ in range(1, config.rounds + 1):
        key = run_key(config.run_spec("ticket", seed, round_))
        if not store.has(key):
            continue
        mask = store.tensors(key, "mask")
        dead = dead_units(mask)
        density = mask["fc1.weight"].float().mean().item()
        print(
            f"{round_:>5}  {density:>11.3f}  {dead['dead inputs']:>20}  {dead['dead hidden 1']:>22}  "
            f"{dead['dead hidden 2']:>22}"
        )


if __name__ == "__main__":
    main()
