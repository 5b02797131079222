#!/usr/bin/env bash
# Hyperparameter-search acceptance experiment: random search against a grid of the same size over
# the same box, then a coarse-to-fine second round of the random search.
#
#   Fashion-MNIST, 10 000 training samples (--train-size, drawn after the usual 10 % dev split, so
#   every trial is scored on the same 6 000 dev samples), EPOCHS epochs per trial.
#   Box: lr logUniform(1e-4, 1) × hidden units ∈ {64, 128, 256, 512} (two hidden layers, Adam).
#   grid:   6 log-spaced lr values × 4 widths = 24 trials (--grid-points 6; a choice contributes
#           every option).
#   random: 24 trials per round, 2 rounds; round 1 is the 24-trial random search compared with the
#           grid (a trial's draw depends only on seed, round and index, so it is exactly what a
#           1-round study would draw); round 2 samples a box shrunk around round 1's best quarter.
#
# Usage: scripts/tune-experiment.sh            (env: ROOT, EPOCHS, TRAIN_SIZE, PARALLEL, SEED, NN_BACKEND)
# Re-running with the same ROOT resumes the studies (finished trials are kept).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=${ROOT:-runs/tune-experiment}
EPOCHS=${EPOCHS:-2}
TRAIN_SIZE=${TRAIN_SIZE:-10000}
PARALLEL=${PARALLEL:-2}
SEED=${SEED:-1}
TRIALS=24
# The native backend unless told otherwise: on a CPU it is the faster of the two.
export NN_BACKEND=${NN_BACKEND:-native}

started=$(date +%s)
swift build -c release -Xswiftc -target-cpu -Xswiftc native --product nn
NN=.build/release/nn

mkdir -p "$ROOT"
SPACE="$ROOT/space.json"
cat >"$SPACE" <<'EOF'
{"lr": "logUniform(1e-4, 1)", "hidden": "choice(64, 128, 256, 512)"}
EOF
TRAIN_ARGS=(--data fashion-mnist --train-size "$TRAIN_SIZE" --epochs "$EPOCHS" --no-progress)

study() {  # name, tuner options…
    local name=$1
    shift
    local t0=$(date +%s)
    "$NN" tune run --root "$ROOT" --study "$name" --space "$SPACE" --parallel "$PARALLEL" "$@" -- "${TRAIN_ARGS[@]}" \
        >"$ROOT/$name.log"
    echo "$name: $(($(date +%s) - t0)) s (log: $ROOT/$name.log)"
    "$NN" tune report --root "$ROOT" --study "$name" --json --top 1000 >"$ROOT/$name.json"
}

echo "nn tune experiment in $ROOT: Fashion-MNIST, --train-size $TRAIN_SIZE, $EPOCHS epochs/trial, --parallel $PARALLEL, backend $NN_BACKEND"
study grid --sampler grid --grid-points 6
study random --sampler random --seed "$SEED" --trials "$TRIALS" --rounds 2

python3 - "$ROOT" "$TRIALS" <<'EOF'
import json, re, sys

root, per_round = sys.argv[1], int(sys.argv[2])
grid = json.load(open(f"{root}/grid.json"))
rand = json.load(open(f"{root}/random.json"))

def done(report, round=None):
    return [t for t in report["top"] if t["status"] == "done" and (round is None or t["round"] == round)]

def best(trials):
    return max(trials, key=lambda t: t["devAccuracy"])

def show(label, t):
    p = t["params"]
    return (f"{label}: dev {100 * t['devAccuracy']:.2f} %  test {100 * t.get('testAccuracy', float('nan')):.2f} %"
            f"  (trial {t['trial']}, round {t['round']}: lr {p['lr']:.4g}, hidden {p['hidden']})")

failures = []
g, r1, r2 = done(grid), done(rand, 1), done(rand, 2)
for label, trials in [("grid", g), ("random round 1", r1), ("random round 2", r2)]:
    if len(trials) != per_round:
        failures.append(f"{label}: {len(trials)} of {per_round} trials completed")
if not (g and r1 and r2):
    sys.exit("no result: " + "; ".join(failures))

bg, b1, ball = best(g), best(r1), best(done(rand))
print()
print(f"distinct lr values tried: grid {len({t['params']['lr'] for t in g})}, random {len({t['params']['lr'] for t in r1})}")
print(show("best grid (24 trials)          ", bg))
print(show("best random, round 1 (24)      ", b1))
print(show("best random, rounds 1+2 (48)   ", ball))
print(show("best of round 2 alone          ", best(r2)))
boxes = {b["round"]: b["box"] for b in rand["rounds"]}
print("round 2 box: " + "; ".join(boxes.get(2, {}).values()))

verdict = bg["devAccuracy"] <= b1["devAccuracy"]
print(f"random {'≥' if verdict else '<'} grid at equal budget: {100 * (b1['devAccuracy'] - bg['devAccuracy']):+.2f} points")

# Coarse to fine must not lose the best trial: it stays in the ranking, and the round-2 box holds it.
if ball["devAccuracy"] < b1["devAccuracy"]:
    failures.append("the best trial after round 2 is worse than round 1's")
box2 = boxes.get(2, {})
m = re.search(r"\[([^,]+), ([^\]]+)\]", box2.get("lr", ""))
if not m:
    failures.append(f"round 2 has no lr interval: {box2}")
else:
    lo, hi = float(m.group(1)), float(m.group(2))
    # The box prints 4 significant digits, so the ends get a relative slack of 1e-3.
    if not lo * (1 - 1e-3) <= b1["params"]["lr"] <= hi * (1 + 1e-3):
        failures.append(f"round 1's best lr {b1['params']['lr']} lies outside the round 2 box [{lo}, {hi}]")
if str(b1["params"]["hidden"]) not in re.findall(r"\d+", box2.get("hidden", "")):
    failures.append(f"round 1's best hidden {b1['params']['hidden']} is not in the round 2 box {box2.get('hidden')}")
if failures:
    sys.exit("FAILED: " + "; ".join(failures))
print("checks passed: 24 + 24 + 24 trials completed; round 2 box contains round 1's best; best never lost")
EOF
echo "wall time: $(($(date +%s) - started)) s (including the build)"
