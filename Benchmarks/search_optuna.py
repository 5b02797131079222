#!/usr/bin/env python3
"""Optuna side of Benchmarks/search.sh, and the results table for both sides.

    search_optuna.py run --sampler tpe|random --seed S --trials N --db FILE --nn NN -- TRAIN_ARGS…
        One Optuna study (RandomSampler(seed) or TPESampler(seed) with Optuna's default settings)
        whose objective runs `NN train TRAIN_ARGS… <sampled hyperparameters> --out TMP --json` as a
        subprocess and returns the final `dev_accuracy` of its last stdout line; test accuracy and
        the subprocess's wall seconds are kept as user attributes. Trials run one at a time. The
        study lives in the SQLite file FILE (Optuna RDB storage): run the same command again to
        resume it (trials an interrupted run left RUNNING are marked FAIL with the user attribute
        `interrupted` and do not count toward N). A resumed sampler does not continue its random
        stream, so a resumed study may draw other points than an uninterrupted one would have.

    search_optuna.py table --out DIR [--budgets "24 64"] [--seeds "1 2 3"] [--samplers "…"]
        Reads every study under DIR (nn tune studies DIR/nn/<name>/study.sqlite, Optuna studies
        DIR/optuna/<name>.db), writes DIR/results.json (each study's trials in the order they ran)
        and prints the table: per sampler and budget B, the best dev accuracy among the first B
        trials (mean and min–max over seeds), the test accuracy of that best trial (mean) and the
        summed wall seconds of those B trials (mean). A study with fewer than B finished trials is
        left out of row B and named as incomplete.

The search space is the issue's: lr logUniform(1e-4, 0.3), hidden int(32, 512) as two layers
(--layers H,H), batch choice(64, 128, 256), beta1 oneMinusLogUniform(0.8, 0.999), i.e.
1 − beta1 logUniform(0.001, 0.2). Only `run` imports optuna.
"""
import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

SPACE = {
    "lr": "logUniform(1e-4, 0.3)",
    "hidden": "int(32, 512)",
    "batch": "choice(64, 128, 256)",
    "beta1": "oneMinusLogUniform(0.8, 0.999)",
}


# MARK: Optuna study


def suggest(trial):
    """The issue's space in Optuna's terms; returns the hyperparameters as nn names them."""
    lr = trial.suggest_float("lr", 1e-4, 0.3, log=True)
    hidden = trial.suggest_int("hidden", 32, 512)
    batch = trial.suggest_categorical("batch", [64, 128, 256])
    one_minus_beta1 = trial.suggest_float("one_minus_beta1", 1 - 0.999, 1 - 0.8, log=True)
    return {"lr": lr, "hidden": hidden, "batch": batch, "beta1": 1 - one_minus_beta1}


def train_arguments(params):
    h = params["hidden"]
    return ["--lr", repr(params["lr"]), "--layers", f"{h},{h}", "--batch", str(params["batch"]),
            "--beta1", repr(params["beta1"])]


def last_json_line(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def run_study(args):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    train = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    name = f"optuna-{args.sampler}-s{args.seed}"
    sampler = (optuna.samplers.TPESampler(seed=args.seed) if args.sampler == "tpe"
               else optuna.samplers.RandomSampler(seed=args.seed))
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{os.path.abspath(args.db)}",
                                direction="maximize", sampler=sampler, load_if_exists=True)

    # Trials a killed run left RUNNING: close them as failed and run that many more.
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)

    def counted():
        return sum(1 for t in study.get_trials(deepcopy=False)
                   if t.state.is_finished() and not t.user_attrs.get("interrupted"))

    def objective(trial):
        params = suggest(trial)
        with tempfile.TemporaryDirectory(prefix="optuna-trial-") as tmp:
            cmd = [args.nn, "train", *train, *train_arguments(params), "--out", os.path.join(tmp, "run"), "--json"]
            start = time.monotonic()
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wall = time.monotonic() - start
        trial.set_user_attr("wall_seconds", wall)
        trial.set_user_attr("command", " ".join(cmd[1:]))
        result = last_json_line(proc.stdout)
        if proc.returncode != 0 or result is None or "dev_accuracy" not in result:
            trial.set_user_attr("error", (proc.stderr.strip().splitlines() or ["no output"])[-1][:500])
            raise RuntimeError(f"trial {trial.number}: nn train exited {proc.returncode}")
        trial.set_user_attr("test_accuracy", result.get("test_accuracy"))
        trial.set_user_attr("epochs", result.get("epochs"))
        dev = float(result["dev_accuracy"])
        print(f"{name} trial {trial.number}: dev {100 * dev:.2f} % test {100 * result.get('test_accuracy', float('nan')):.2f} % "
              f"{wall:.1f} s  lr {params['lr']:.3g} hidden {params['hidden']} batch {params['batch']} beta1 {params['beta1']:.4f}",
              flush=True)
        return dev

    remaining = args.trials - counted()
    while remaining > 0:
        study.optimize(objective, n_trials=remaining, catch=(RuntimeError,))
        remaining = args.trials - counted()
    print(f"{name}: {counted()} trials, best dev {100 * study.best_value:.2f} %", flush=True)


# MARK: Results


def nn_study_trials(path):
    """Finished trials of an nn tune study, by id: (status, dev, test, wall seconds)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id, status, objective, result, started_at, finished_at FROM trials ORDER BY id").fetchall()
        epochs = dict(db.execute("SELECT trial, count(*) FROM trial_epochs GROUP BY trial").fetchall())
    finally:
        db.close()
    trials = []
    for tid, status, objective, result, started, finished in rows:
        if status not in ("done", "failed", "pruned"):
            continue
        res = json.loads(result) if result else {}
        trials.append({
            "trial": tid,
            "state": status,
            "dev": res.get("devAccuracy", objective) if status == "done" else None,
            "test": res.get("testAccuracy") if status == "done" else None,
            "wall": (finished - started) if started is not None and finished is not None else None,
            "epochs": epochs.get(tid, 0),
        })
    return trials


def command_epochs(command):
    m = re.search(r"--epochs (\d+)", command)
    return int(m[1]) if m else None


def optuna_study_trials(path):
    """Finished trials of an Optuna study file (read with sqlite3, so optuna is not needed)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("""
            SELECT t.trial_id, t.number, t.state, v.value FROM trials t
            LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
            ORDER BY t.number""").fetchall()
        attrs = {}
        for tid, key, value in db.execute("SELECT trial_id, key, value_json FROM trial_user_attributes"):
            attrs.setdefault(tid, {})[key] = json.loads(value)
    finally:
        db.close()
    trials = []
    for tid, number, state, value in rows:
        a = attrs.get(tid, {})
        if state not in ("COMPLETE", "FAIL", "PRUNED") or a.get("interrupted"):
            continue
        trials.append({
            "trial": number,
            "state": {"COMPLETE": "done", "FAIL": "failed", "PRUNED": "pruned"}[state],
            "dev": value if state == "COMPLETE" else None,
            "test": a.get("test_accuracy") if state == "COMPLETE" else None,
            "wall": a.get("wall_seconds"),
            "epochs": a.get("epochs", command_epochs(a.get("command", ""))) if state == "COMPLETE" else None,
        })
    return trials


STUDY_NAME = re.compile(r"^(?P<sampler>.+)-s(?P<seed>\d+)$")
ORDER = ["nn-random", "nn-tpe", "nn-tpe-asha", "nn-gp", "nn-gp-asha", "nn-gp-asha-all", "optuna-random", "optuna-tpe"]


def collect(out):
    studies = []
    nn_root = os.path.join(out, "nn")
    if os.path.isdir(nn_root):
        for name in sorted(os.listdir(nn_root)):
            path = os.path.join(nn_root, name, "study.sqlite")
            if os.path.isfile(path) and STUDY_NAME.match(name):
                studies.append((name, nn_study_trials(path)))
    optuna_root = os.path.join(out, "optuna")
    if os.path.isdir(optuna_root):
        for file in sorted(os.listdir(optuna_root)):
            name = file[:-3]
            if file.endswith(".db") and STUDY_NAME.match(name):
                studies.append((name, optuna_study_trials(os.path.join(optuna_root, file))))
    runs = []
    for name, trials in studies:
        m = STUDY_NAME.match(name)
        runs.append({"study": name, "sampler": m["sampler"], "seed": int(m["seed"]), "trials": trials})
    return runs


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def table(args):
    runs = collect(args.out)
    budgets = sorted({int(b) for b in args.budgets.split()})
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"space": SPACE, "environment": {"NN_NATIVE_THREADS": "1"}, "runs": runs}, f, indent=1)
    wanted = set(args.samplers.split()) if args.samplers else None
    samplers = sorted({r["sampler"] for r in runs if wanted is None or r["sampler"] in wanted}, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))
    seeds_wanted = [int(s) for s in args.seeds.split()] if args.seeds else None
    header = ["sampler", "budget", "seeds", "best dev acc % mean ± spread (min–max)", "test acc % of best (mean)",
              "trial-seconds (mean)", "epochs run (mean)", "pruned (mean)"]
    rows, notes = [], []
    for sampler in samplers:
        mine = sorted((r for r in runs if r["sampler"] == sampler and (seeds_wanted is None or r["seed"] in seeds_wanted)),
                      key=lambda r: r["seed"])
        for budget in budgets:
            bests, tests, walls, epochs, pruned, used, short = [], [], [], [], [], [], []
            for r in mine:
                first = r["trials"][:budget]
                done = [t for t in first if t["state"] == "done" and t["dev"] is not None]
                if len(first) < budget or not done:
                    short.append(f"seed {r['seed']} ({len(r['trials'])} trials)")
                    continue
                best = max(done, key=lambda t: t["dev"])
                bests.append(100 * best["dev"])
                if best["test"] is not None:
                    tests.append(100 * best["test"])
                walls.append(sum(t["wall"] or 0 for t in first))
                epochs.append(sum(t["epochs"] or 0 for t in first))
                pruned.append(sum(t["state"] == "pruned" for t in first))
                used.append(r["seed"])
            if short:
                notes.append(f"{sampler} budget {budget}: incomplete, left out: {', '.join(short)}")
            if not bests:
                continue
            mean = statistics.mean(bests)
            rows.append([sampler, str(budget), " ".join(map(str, used)),
                         f"{mean:.2f} ± {(max(bests) - min(bests)) / 2:.2f} ({min(bests):.2f}–{max(bests):.2f})",
                         fmt(statistics.mean(tests)) if tests else "-",
                         fmt(statistics.mean(walls), 0), fmt(statistics.mean(epochs), 1), fmt(statistics.mean(pruned), 1)])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    print("\nspread = half the min–max range over seeds; trial-seconds = summed wall time of the budget's trials "
          "(each an `nn train` process, NN_NATIVE_THREADS=1; it grows with whatever else the machine runs); "
          "epochs run = summed epochs the trials trained (load-independent; pruning lowers it).")
    for n in notes:
        print(n)
    time_to_target(runs, samplers, seeds_wanted, budgets, args.target)
    print(f"per-study trials in {os.path.join(args.out, 'results.json')}")


def best_so_far_steps(trials):
    """(cumulative trial-seconds, best dev accuracy so far) after each finished trial, in order."""
    steps, clock, best = [], 0.0, 0.0
    for t in trials:
        clock += t["wall"] or 0
        if t["state"] == "done" and t["dev"] is not None:
            best = max(best, t["dev"])
        steps.append((clock, best))
    return steps


def time_to_target(runs, samplers, seeds_wanted, budgets, target):
    """The trial-seconds at which each sampler's best-so-far, averaged over its seeds, first reaches
    `target` (default: optuna-tpe's mean best at the largest budget), beside optuna-tpe's seconds."""
    def studies(sampler):
        return [r for r in runs if r["sampler"] == sampler and (seeds_wanted is None or r["seed"] in seeds_wanted)]
    largest = budgets[-1]
    reference = [r for r in studies("optuna-tpe") if len(r["trials"]) >= largest]
    ref_seconds = statistics.mean(sum(t["wall"] or 0 for t in r["trials"][:largest]) for r in reference) if reference else None
    if target is None:
        if not reference:
            print("\n(no complete optuna-tpe studies and no --target: no time-to-target table)")
            return
        target = statistics.mean(100 * max((t["dev"] for t in r["trials"][:largest] if t["dev"] is not None), default=0)
                                 for r in reference)
    goal = target / 100
    print(f"\ntrial-seconds until the mean best-so-far over seeds first reaches {target:.2f} %"
          + (f" (optuna-tpe's {largest} trials took {ref_seconds:.0f} s, mean)" if ref_seconds else ""))
    print("| sampler | seeds | reached at (s) | share of optuna-tpe's | trials by then (mean) | each seed reaches it at (s) |")
    print("|---|---|---|---|---|---|")
    for sampler in samplers:
        mine = studies(sampler)
        if not mine:
            continue
        curves = [best_so_far_steps(r["trials"]) for r in mine]
        # The mean curve changes only where one seed's does: check it at every seed's step times.
        reached = None
        for clock in sorted({c for curve in curves for c, _ in curve}):
            values = [max([b for c, b in curve if c <= clock], default=0) for curve in curves]
            if statistics.mean(values) >= goal:
                reached = clock
                break
        per_seed = []
        for r, curve in zip(mine, curves):
            hit = next((c for c, b in curve if b >= goal), None)
            per_seed.append(f"s{r['seed']}: " + (f"{hit:.0f}" if hit is not None else f"not in {len(curve)} trials"))
        trials_by_then = (statistics.mean(sum(1 for c, _ in curve if c <= reached) for curve in curves)
                          if reached is not None else None)
        share = f"{reached / ref_seconds:.2f}" if reached is not None and ref_seconds else "-"
        print(f"| {sampler} | {' '.join(str(r['seed']) for r in mine)} | "
              + (f"{reached:.0f}" if reached is not None else "not reached") + f" | {share} | "
              + (f"{trials_by_then:.1f}" if trials_by_then is not None else "-") + f" | {', '.join(per_seed)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) one Optuna study")
    run.add_argument("--sampler", choices=["tpe", "random"], required=True)
    run.add_argument("--seed", type=int, required=True)
    run.add_argument("--trials", type=int, default=64)
    run.add_argument("--db", required=True, help="SQLite file of the study (created if missing)")
    run.add_argument("--nn", required=True, help="nn executable")
    run.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the nn train arguments of every trial")
    tab = sub.add_parser("table", help="collect every study under --out into results.json and print the table")
    tab.add_argument("--out", required=True)
    tab.add_argument("--budgets", default="24 64")
    tab.add_argument("--seeds", default="", help="only these seeds (default: every study found)")
    tab.add_argument("--samplers", default="", help="only these samplers (default: every study found)")
    tab.add_argument("--target", type=float, default=None,
                     help="dev accuracy (%%) for the time-to-target table (default: optuna-tpe's mean best at the largest budget)")
    args = parser.parse_args()
    if args.command == "run":
        run_study(args)
    else:
        table(args)


if __name__ == "__main__":
    sys.exit(main())
