#!/usr/bin/python3
"""The Python side of test/bench_trees.sh (the boosted-trees benchmark).

  bench_trees.py gen DIR SEED
      writes the generated data sets as CSV files into DIR (no header):
        binary_train.csv / binary_test.csv   750,000 / 250,000 rows: x1..x16, y (0/1)
        friedman_train.csv / friedman_test.csv  150,000 / 50,000 rows: x1..x10, y
        digits_train.csv / digits_test.csv   1,347 / 450 rows: p1..p64, y (0..9)
  bench_trees.py measure DIR RUNS
      reads the same CSV files into numpy arrays, then measures XGBoost
      (nthread 1) and mlsys (through psql on the benchmark's cluster, $PSQL
      with the PG* variables), alternately so that the machine's drift
      affects both sides alike, and prints one "name value" line a figure.

XGBoost's parameters mirror mlsys's (see PARAMS below and bench_trees.sh).
"""
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

TREES = 100
# XGBoost's side of the comparison: 100 trees of depth 6, learning rate 0.1,
# 256 histogram bins (mlsys: 255 value bins plus one for missing values),
# L2 penalty 1, no subsampling, one thread; min_child_weight comes from
# $BENCH_TREES_MIN_CHILD (bench_trees.sh explains the mapping).
PARAMS = {
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "max_bin": 256,
    "lambda": 1.0,
    "alpha": 0.0,
    "gamma": 0.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "nthread": 1,
    "seed": 1,
}


def fmt(a, decimals):
    """CSV text of a 2-D array, fixed decimals (the label column as integers)."""
    cols = a.shape[1] - 1
    f = ",".join(["%." + str(decimals) + "f"] * cols) + ",%d\n"
    return "".join(f % tuple(r) for r in a.tolist())


def write_csv(path, X, y, decimals=6):
    # values are rounded before anything is computed from them, so the CSV
    # holds exactly the rows both sides train on
    with open(path, "w") as f:
        step = 100000
        for i in range(0, len(X), step):
            rows = np.column_stack([X[i:i + step], y[i:i + step]])
            f.write(fmt(rows, decimals))


def write_csv_float_target(path, X, y):
    with open(path, "w") as f:
        for i in range(0, len(X), 100000):
            rows = np.column_stack([X[i:i + 100000], y[i:i + 100000]])
            f.write("".join(",".join("%.6f" % v for v in r) + "\n" for r in rows.tolist()))


def binary_data(seed, n=1_000_000):
    """16 features; the label's log-odds mix interactions, thresholds and a sine."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, 16))
    X[:, 0:8] = rng.uniform(-2, 2, size=(n, 8))
    X[:, 8:12] = rng.normal(0, 1, size=(n, 4))
    X[:, 12:14] = rng.exponential(1.0, size=(n, 2))
    # two features correlated with informative ones, two pure noise
    X[:, 14] = X[:, 0] + rng.normal(0, 0.5, size=n)
    X[:, 15] = rng.uniform(0, 1, size=n)
    X = np.round(X, 6)
    z = (1.2 * X[:, 0] * X[:, 1]                      # interaction
         + 1.5 * (X[:, 2] > 0.5)                      # threshold
         - 1.0 * ((X[:, 3] < -0.5) & (X[:, 4] > 0))   # a box
         + 1.5 * np.sin(2.0 * X[:, 5])                # a sine
         + 0.4 * X[:, 6] ** 2
         + 0.6 * X[:, 7]
         + 0.8 * np.tanh(X[:, 8] * X[:, 9])           # a smooth interaction
         - 0.5 * X[:, 12] + 0.7 * (X[:, 13] > 1.0)
         + 0.3 * X[:, 10] - 1.0)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return X, y


def cmd_gen(out, seed):
    from sklearn.datasets import load_digits, make_friedman1
    from sklearn.model_selection import train_test_split

    X, y = binary_data(seed)
    write_csv(os.path.join(out, "binary_train.csv"), X[:750_000], y[:750_000])
    write_csv(os.path.join(out, "binary_test.csv"), X[750_000:], y[750_000:])

    X, y = make_friedman1(n_samples=200_000, n_features=10, noise=1.0, random_state=seed)
    X, y = np.round(X, 6), np.round(y, 6)
    write_csv_float_target(os.path.join(out, "friedman_train.csv"), X[:150_000], y[:150_000])
    write_csv_float_target(os.path.join(out, "friedman_test.csv"), X[150_000:], y[150_000:])

    d = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.25,
                                          random_state=seed, stratify=d.target)
    write_csv(os.path.join(out, "digits_train.csv"), Xtr, ytr, decimals=0)
    write_csv(os.path.join(out, "digits_test.csv"), Xte, yte, decimals=0)


def read_csv(path):
    """A header-less numeric CSV as (features, last column)."""
    with open(path, "rb") as f:
        text = f.read()
    ncol = text[:text.index(b"\n")].count(b",") + 1
    a = np.array(text.replace(b"\n", b",").split(b",")[:-1], dtype=np.float64).reshape(-1, ncol)
    return np.ascontiguousarray(a[:, :-1]), a[:, -1].copy()


def psql_ms(*commands):
    """Run SQL commands in one psql session; the time of the last, in ms."""
    args = [os.environ.get("PSQL", "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for c in commands[:-1]:
        args += ["-c", c]
    args += ["-c", "\\timing on", "-c", commands[-1]]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return float(re.findall(r"^Time: ([0-9.]+) ms", out, re.M)[-1])


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def out(name, value):
    print(name, value, flush=True)


def fit(X, y, params, trees=TREES):
    """Quantization (QuantileDMatrix: the hist cuts and the binned matrix) plus training."""
    import xgboost as xgb
    dtrain = xgb.QuantileDMatrix(X, y, max_bin=params["max_bin"], nthread=1)
    return xgb.train(params, dtrain, num_boost_round=trees)


def cmd_measure(d, runs):
    import xgboost as xgb
    from sklearn.metrics import accuracy_score, roc_auc_score

    cfg = json.loads(os.environ["BENCH_TREES_SQL"])
    min_child = float(os.environ.get("BENCH_TREES_MIN_CHILD", "0"))
    out("xgboost_version", xgb.__version__)
    out("xgb_min_child_weight", min_child)

    Xtr, ytr = read_csv(os.path.join(d, "binary_train.csv"))
    Xte, yte = read_csv(os.path.join(d, "binary_test.csv"))
    params = dict(PARAMS, objective="binary:logistic", eval_metric="auc",
                  min_child_weight=min_child)

    # training: XGBoost, mlsys serial, mlsys with 2 workers, in turn
    xs, ss, ps = [], [], []
    bst = None
    for i in range(runs):
        t = time.perf_counter()
        bst = fit(Xtr, ytr, params)
        xs.append((time.perf_counter() - t) * 1000)
        ss.append(psql_ms(cfg["serial"], cfg["train_serial"]))
        ps.append(psql_ms(cfg["parallel"], cfg["train_parallel"]))
        print("  round %d: xgboost %.0f ms, mlsys serial %.0f ms, 2 workers %.0f ms"
              % (i + 1, xs[-1], ss[-1], ps[-1]), file=sys.stderr, flush=True)
    out("fit_xgb_ms", median(xs))
    out("fit_serial_ms", median(ss))
    out("fit_parallel_ms", median(ps))
    out("fit_ratio", median([s / x for s, x in zip(ss, xs)]))
    out("fit_speedup", median([s / p for s, p in zip(ss, ps)]))
    # the quantization alone, for the record
    q = []
    for _ in range(runs):
        t = time.perf_counter()
        xgb.QuantileDMatrix(Xtr, ytr, max_bin=256, nthread=1)
        q.append((time.perf_counter() - t) * 1000)
    out("quantize_xgb_ms", median(q))

    bst.set_param({"nthread": 1})
    out("auc_xgb", roc_auc_score(yte, bst.inplace_predict(Xte)))
    # for reference: XGBoost with its default min_child_weight (1)
    t = time.perf_counter()
    b = fit(Xtr, ytr, dict(params, min_child_weight=1.0))
    out("fit_xgb_mcw1_ms", (time.perf_counter() - t) * 1000)
    b.set_param({"nthread": 1})
    out("auc_xgb_mcw1", roc_auc_score(yte, b.inplace_predict(Xte)))

    # scoring 250k rows: XGBoost's in-place predict on the numpy array
    # against the serial SQL query, in turn
    xs, ms = [], []
    for _ in range(max(runs, 5)):
        t = time.perf_counter()
        bst.inplace_predict(Xte)
        xs.append((time.perf_counter() - t) * 1000)
        ms.append(psql_ms(cfg["serial"], cfg["warm"], cfg["score"]))  # the model loaded first
    out("score_xgb_ms", median(xs))
    out("score_mlsys_ms", median(ms))
    out("score_ratio", median([m / x for m, x in zip(ms, xs)]))

    # Friedman #1 regression
    Xtr, ytr = read_csv(os.path.join(d, "friedman_train.csv"))
    Xte, yte = read_csv(os.path.join(d, "friedman_test.csv"))
    p = dict(PARAMS, objective="reg:squarederror", min_child_weight=min_child)
    b = fit(Xtr, ytr, p)
    b.set_param({"nthread": 1})
    out("friedman_rmse_xgb", float(np.sqrt(np.mean((b.inplace_predict(Xte) - yte) ** 2))))

    # digits, ten classes
    Xtr, ytr = read_csv(os.path.join(d, "digits_train.csv"))
    Xte, yte = read_csv(os.path.join(d, "digits_test.csv"))
    p = dict(PARAMS, objective="multi:softprob", num_class=10, min_child_weight=min_child)
    b = fit(Xtr, ytr, p)
    b.set_param({"nthread": 1})
    prob = b.inplace_predict(Xte)
    out("digits_accuracy_xgb", accuracy_score(yte, np.argmax(prob, axis=1)))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        cmd_gen(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "measure":
        cmd_measure(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
