"""The recurrent VAE's recipe in PyTorch: the reference module of
crates/core/tests/fixtures/make_vrae_fixture.py at the shipped size (GRU 32, 8-D z), on windows of
64 samples of the normal part of web/assets/series.bin, standardised by that part's mean and
standard deviation; Adam 1e-3, batch 64, 150 epochs. Prints, per epoch, the mean training loss and
the held-out −ELBO (one draw of z) with its terms, nats per window, and every 5 epochs the ROC AUC
of the anomaly score (−ELBO at z = μ) of held-out windows every 4 samples, to compare with
`train-series`.

Run: python scripts/pytorch_vrae_reference.py --seed 1   (needs torch)
"""

import argparse
import pathlib
import struct
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "crates/core/tests/fixtures"))
from make_vrae_fixture import VRAE, terms  # noqa: E402

WINDOW, STRIDE = 64, 4

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=150)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(1)

raw = open("web/assets/series.bin", "rb").read()
count, train_end = struct.unpack("<II", raw[4:12])
values = torch.tensor(struct.unpack(f"<{count}f", raw[12 : 12 + 4 * count]))
labels = torch.tensor(list(raw[12 + 4 * count :]), dtype=torch.bool)
part = values[:train_end].double()
x = ((values - part.mean()) / part.std(unbiased=False)).float()


def windows(starts):
    return torch.stack([x[s : s + WINDOW] for s in starts])


train = windows(range(train_end - WINDOW + 1))
held_starts = list(range(train_end, count - WINDOW + 1, STRIDE))
held = windows(held_starts)
anomalous = torch.tensor([bool(labels[s : s + WINDOW].any()) for s in held_starts])


def auc(scores, positive):
    ranks = torch.empty(len(scores))
    ranks[scores.argsort()] = torch.arange(1, len(scores) + 1, dtype=torch.float)
    p, n = positive.sum().item(), (~positive).sum().item()
    return (ranks[positive].sum().item() - p * (p + 1) / 2) / (p * n)


model = VRAE(hidden=32, latent=8)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
print("epoch  train-loss  held-out −ELBO   recon      KL   σ_x     AUC")
for epoch in range(1, args.epochs + 1):
    total = 0.0
    for batch in torch.randperm(len(train)).split(64):
        xb = train[batch]
        optimizer.zero_grad()
        recon, kl = terms(model, model(xb, torch.randn(len(xb), 8)), xb)
        loss = (recon + kl).mean()
        loss.backward()
        total += loss.item() * len(xb)
        optimizer.step()
    with torch.no_grad():
        recon, kl = terms(model, model(held, torch.randn(len(held), 8)), held)
        score = "     -"
        if epoch % 5 == 0 or epoch == args.epochs:
            r0, k0 = terms(model, model(held, None), held)
            score = f"{auc(r0 + k0, anomalous):.4f}"
    sigma = model.log_sigma_x.exp().item()
    print(f"{epoch:5} {total / len(train):11.2f} {(recon + kl).mean():15.2f} {recon.mean():8.2f} {kl.mean():7.2f} {sigma:5.3f} {score}", flush=True)
