#!/usr/bin/env bash
# Hyperparameter search at equal budget: nn tune's samplers against Optuna's (issue 17).
#
#   Benchmarks/search.sh [--trials 64] [--seeds "1 2 3"] [--samplers "nn-random nn-tpe nn-gp nn-gp-asha optuna-random optuna-tpe"]
#                        [--budgets "24 64"] [--target ACC] [--out DIR] [--table-only]
#
# Every study searches the issue's space — lr logUniform(1e-4, 0.3), hidden int(32, 512) as two
# layers (--layers H,H), batch choice(64, 128, 256), beta1 oneMinusLogUniform(0.8, 0.999) — with
# the trial function `nn train --data fashion-mnist --train-size 10000 --epochs 3 --backend native`
# and maximises the trial's final dev accuracy (`dev_accuracy` of its `--json` line). Samplers:
#   nn-random       nn tune --sampler random
#   nn-tpe          nn tune --sampler tpe
#   nn-tpe-asha     nn tune --sampler tpe --prune asha --min-epochs 1 --reduction 3
#   nn-gp           nn tune --sampler gp
#   nn-gp-asha      nn tune --sampler gp --prune asha --min-epochs 1 --reduction 3
#                   (rungs ranked among the GP's random start-up trials, nn tune's default)
#   nn-gp-asha-all  the same with --asha-reference all (rungs ranked among every trial: plain ASHA)
#   optuna-random   Optuna RandomSampler(seed)       (Benchmarks/search_optuna.py)
#   optuna-tpe      Optuna TPESampler(seed), Optuna's default settings
# one study per sampler and seed, trials one at a time, every trial with NN_NATIVE_THREADS=1. A
# sampler the nn binary does not offer, or Optuna where `import optuna` fails, is skipped with a
# message. The table shows, per sampler and budget B (the first B trials of each study), the best dev
# accuracy (mean over seeds ± half the min–max range, and the range), the test accuracy of that best
# trial (mean), the summed wall seconds of the B trials and the epochs they trained (means). A second
# table gives, per sampler, the trial-seconds at which its mean best-so-far dev accuracy (over seeds)
# first reaches --target (default: optuna-tpe's mean at the largest budget) and its share of
# optuna-tpe's trial-seconds at that budget.
#
# --out DIR (default runs/search-bench) keeps the studies (DIR/nn/<sampler>-s<seed>/, DIR/optuna/
# <sampler>-s<seed>.db), logs (DIR/logs/) and DIR/results.json: running again resumes unfinished
# studies and skips finished ones; --table-only re-prints the table from what DIR holds.
#
# NN=/path/to/nn picks the binary (default .build/release/nn); PYTHON the interpreter with Optuna
# (default .venv/bin/python, else python3). Optuna is a benchmark-only dependency:
#   .venv/bin/python -m pip install optuna
set -euo pipefail
cd "$(dirname "$0")/.."

trials=64
seeds="1 2 3"
samplers="nn-random nn-tpe nn-gp nn-gp-asha optuna-random optuna-tpe"
budgets="24 64"
out="runs/search-bench"
table_only=0
target=""
while [ $# -gt 0 ]; do
    case "$1" in
        --trials) trials="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --samplers) samplers="$2"; shift 2 ;;
        --budgets) budgets="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --target) target="$2"; shift 2 ;;
        --table-only) table_only=1; shift ;;
        -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
        *) echo "search.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

NN="${NN:-.build/release/nn}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
mkdir -p "$out/nn" "$out/optuna" "$out/logs"
out="$(cd "$out" && pwd)"

train_args=(--data fashion-mnist --train-size 10000 --epochs 3 --backend native)
space="$out/space.json"
cat > "$space" <<'EOF'
{"lr": "logUniform(1e-4, 0.3)", "hidden": "int(32, 512)", "batch": "choice(64, 128, 256)", "beta1": "oneMinusLogUniform(0.8, 0.999)"}
EOF
export NN_NATIVE_THREADS=1

# Whether this nn binary's `tune` offers what a sampler needs.
nn_offers() {
    local help
    help="$("$NN" tune run --help 2>&1)" || return 1
    case "$1" in
        nn-random) return 0 ;;
        nn-tpe) grep -qw tpe <<< "$help" ;;
        nn-tpe-asha) grep -qw tpe <<< "$help" && grep -qw asha <<< "$help" ;;
        nn-gp) grep -qw gp <<< "$help" ;;
        nn-gp-asha) grep -qw gp <<< "$help" && grep -qw asha <<< "$help" ;;
        nn-gp-asha-all) grep -q -- --asha-reference <<< "$help" ;;
    esac
}

# Finished trials of a study (0 when it does not exist yet); the table step reads the same files.
finished_trials() {
    local file="$1" query="$2"
    [ -f "$file" ] || { echo 0; return; }
    "$PYTHON" -c 'import sqlite3, sys; print(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute(sys.argv[2]).fetchone()[0])' "$file" "$query"
}

run_nn() {
    local sampler="$1" seed="$2" name="$1-s$2"
    local extra=()
    case "$sampler" in
        nn-random) extra=(--sampler random) ;;
        nn-tpe) extra=(--sampler tpe) ;;
        nn-tpe-asha) extra=(--sampler tpe --prune asha --min-epochs 1 --reduction 3) ;;
        nn-gp) extra=(--sampler gp) ;;
        nn-gp-asha) extra=(--sampler gp --prune asha --min-epochs 1 --reduction 3) ;;
        nn-gp-asha-all) extra=(--sampler gp --prune asha --min-epochs 1 --reduction 3 --asha-reference all) ;;
    esac
    local done
    done=$(finished_trials "$out/nn/$name/study.sqlite" "SELECT count(*) FROM trials WHERE status IN ('done', 'failed', 'pruned')")
    if [ "$done" -ge "$trials" ]; then echo "==> $name: $done trials already finished" >&2; return; fi
    echo "==> $name ($done of $trials trials finished; log $out/logs/$name.log)" >&2
    "$NN" tune --root "$out/nn" --study "$name" --space "$space" --trials "$trials" --seed "$seed" "${extra[@]}" \
        -- "${train_args[@]}" >> "$out/logs/$name.log" 2>&1 || echo "    $name: nn tune exited with an error (see its log)" >&2
}

run_optuna() {
    local sampler="${1#optuna-}" seed="$2" name="$1-s$2"
    local done
    done=$(finished_trials "$out/optuna/$name.db" \
        "SELECT count(*) FROM trials t WHERE state IN ('COMPLETE', 'FAIL', 'PRUNED') AND NOT EXISTS (SELECT 1 FROM trial_user_attributes a WHERE a.trial_id = t.trial_id AND a.key = 'interrupted')")
    if [ "$done" -ge "$trials" ]; then echo "==> $name: $done trials already finished" >&2; return; fi
    echo "==> $name ($done of $trials trials finished; log $out/logs/$name.log)" >&2
    "$PYTHON" Benchmarks/search_optuna.py run --sampler "$sampler" --seed "$seed" --trials "$trials" \
        --db "$out/optuna/$name.db" --nn "$NN" -- "${train_args[@]}" >> "$out/logs/$name.log" 2>&1 \
        || echo "    $name: search_optuna.py exited with an error (see its log)" >&2
}

if [ "$table_only" -eq 0 ]; then
    [ -x "$NN" ] || { echo "search.sh: no nn binary at $NN (build it: swift build -c release, or set NN=…)" >&2; exit 1; }
    NN="$(cd "$(dirname "$NN")" && pwd)/$(basename "$NN")"
    echo "==> every trial runs with NN_NATIVE_THREADS=1 (one native worker thread), one trial at a time" >&2
    have_optuna=1
    if version=$("$PYTHON" -c 'import optuna; print(optuna.__version__)' 2>/dev/null); then
        echo "==> Optuna $version ($PYTHON)" >&2
    else
        have_optuna=0
    fi
    for seed in $seeds; do
        for sampler in $samplers; do
            case "$sampler" in
                nn-*)
                    if nn_offers "$sampler"; then run_nn "$sampler" "$seed"
                    else echo "==> skipping $sampler: $NN does not offer it (nn tune --help names no tpe/gp/asha)" >&2; fi ;;
                optuna-random|optuna-tpe)
                    if [ "$have_optuna" -eq 1 ]; then run_optuna "$sampler" "$seed"
                    else echo "==> skipping $sampler: 'import optuna' fails with $PYTHON (pip install optuna)" >&2; fi ;;
                *) echo "search.sh: unknown sampler '$sampler'" >&2; exit 2 ;;
            esac
        done
    done
fi

"$PYTHON" Benchmarks/search_optuna.py table --out "$out" --budgets "$budgets" --seeds "$seeds" --samplers "$samplers" ${target:+--target "$target"}
