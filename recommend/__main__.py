"""``python -m recommend [--holdout-weeks W]``: the offline evaluation table."""

import argparse

from recommend.evaluation import main

parser = argparse.ArgumentParser(prog="python -m recommend", description=__doc__)
parser.add_argument("--holdout-weeks", type=int, default=8)
raise SystemExit(main(parser.parse_args().holdout_weeks))
