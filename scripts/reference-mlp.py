#!/usr/bin/env python3
"""An independent NumPy implementation of `nn train`'s default recipe, to cross-check its accuracy.

    .venv/bin/python scripts/reference-mlp.py fashion|mnist SEED

784-512-256-10, batch norm (eps 1e-5, running average beta 0.9, unbiased running variance), ReLU,
softmax cross-entropy, Adam (1e-3, 0.9, 0.999, 1e-8, bias correction), batch 128, 10 epochs with the
learning rate cosine-annealed per epoch (1e-3 * (1 + cos(pi * epoch / 10)) / 2), a 6,000-sample dev set
carved from the training set, and one mean and standard deviation over all pixels fitted on the rest.
`--per-feature` standardises each pixel separately instead, `--constant` keeps the rate at 1e-3 (the
recipe before cosine and global standardisation became the default).
It shares no code with SwiftNN, so agreement between the two says the recipe, not a bug, sets the
accuracy. Prints dev and test accuracy after every epoch (a few minutes on one core).
MNIST must be converted first: .venv/bin/python scripts/setup-mnist.py (writes ./data/mnist).
"""
import gzip, os, sys
import numpy as np

flags = {a for a in sys.argv[1:] if a.startswith('--')}
args = [a for a in sys.argv[1:] if not a.startswith('--')]
if len(args) != 2 or args[0] not in ('fashion', 'mnist') or not flags <= {'--per-feature', '--constant'}:
    sys.exit('usage: reference-mlp.py fashion|mnist SEED [--per-feature] [--constant]')
name = args[0]; seed = int(args[1])
d = {'fashion': '/usr/share/datasets/fashion-mnist/',
     'mnist': os.path.join(os.environ.get('NN_DATA_DIR', 'data'), 'mnist') + '/'}[name]
def im(f): return np.frombuffer(gzip.open(d+f).read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
def lb(f): return np.frombuffer(gzip.open(d+f).read(), np.uint8, offset=8).astype(np.int64)
X, Y = im('train-images-idx3-ubyte.gz'), lb('train-labels-idx1-ubyte.gz')
Xt, Yt = im('t10k-images-idx3-ubyte.gz'), lb('t10k-labels-idx1-ubyte.gz')
rng = np.random.default_rng(seed)
p = rng.permutation(len(X)); dev, tr = p[:6000], p[6000:]
Xd, Yd, X, Y = X[dev], Y[dev], X[tr], Y[tr]
if '--per-feature' in flags:
    mu, sd = X.mean(0), X.std(0); sd[sd == 0] = 1
else:
    mu, sd = X.mean(), X.std()
norm = lambda a: (a - mu) / sd
X, Xd, Xt = norm(X), norm(Xd), norm(Xt)
sizes = [784, 512, 256, 10]
P = {}
for i in range(3):
    P[f'W{i}'] = (rng.standard_normal((sizes[i], sizes[i+1])) * np.sqrt(2 / sizes[i])).astype(np.float32)
for i in range(2):
    P[f'g{i}'] = np.ones(sizes[i+1], np.float32); P[f'b{i}'] = np.zeros(sizes[i+1], np.float32)
P['b2'] = np.zeros(10, np.float32)
run = {f'm{i}': np.zeros(sizes[i+1], np.float32) for i in range(2)} | {f'v{i}': np.ones(sizes[i+1], np.float32) for i in range(2)}
M = {k: np.zeros_like(v) for k, v in P.items()}; V = {k: np.zeros_like(v) for k, v in P.items()}
eps = 1e-5
def forward(x, train):
    cache = []
    h = x
    for i in range(2):
        z = h @ P[f'W{i}']
        if train:
            m = z.mean(0); var = z.var(0)
            n = len(z)
            run[f'm{i}'] = 0.9 * run[f'm{i}'] + 0.1 * m
            run[f'v{i}'] = 0.9 * run[f'v{i}'] + 0.1 * var * n / max(n - 1, 1)
        else:
            m, var = run[f'm{i}'], run[f'v{i}']
        inv = 1 / np.sqrt(var + eps); xh = (z - m) * inv
        y = P[f'g{i}'] * xh + P[f'b{i}']
        a = np.maximum(y, 0)
        cache.append((h, xh, inv, y))
        h = a
    logits = h @ P['W2'] + P['b2']
    return logits, cache, h
t = 0
for epoch in range(10):
    lr = 1e-3 if '--constant' in flags else 1e-3 * 0.5 * (1 + np.cos(np.pi * epoch / 10))
    order = rng.permutation(len(X))
    for s in range(0, len(X), 128):
        idx = order[s:s+128]
        if len(idx) < 2: continue
        x, y = X[idx], Y[idx]
        logits, cache, h = forward(x, True)
        z = logits - logits.max(1, keepdims=True); e = np.exp(z); pr = e / e.sum(1, keepdims=True)
        g = pr; g[np.arange(len(y)), y] -= 1; g /= len(y)
        G = {'W2': h.T @ g, 'b2': g.sum(0)}
        dh = g @ P['W2'].T
        for i in (1, 0):
            hin, xh, inv, yv = cache[i]
            dy = dh * (yv > 0)
            G[f'b{i}'] = dy.sum(0); G[f'g{i}'] = (dy * xh).sum(0)
            dxh = dy * P[f'g{i}']
            n = len(dy)
            dz = inv / n * (n * dxh - dxh.sum(0) - xh * (dxh * xh).sum(0))
            G[f'W{i}'] = hin.T @ dz
            dh = dz @ P[f'W{i}'].T
        t += 1
        for k in P:
            M[k] = 0.9 * M[k] + 0.1 * G[k]; V[k] = 0.999 * V[k] + 0.001 * G[k] ** 2
            P[k] -= lr * (M[k] / (1 - 0.9 ** t)) / (np.sqrt(V[k] / (1 - 0.999 ** t)) + 1e-8)
    acc = lambda a, b: (forward(a, False)[0].argmax(1) == b).mean()
    print(f'epoch {epoch+1}: dev {acc(Xd, Yd)*100:.2f} test {acc(Xt, Yt)*100:.2f}', flush=True)
