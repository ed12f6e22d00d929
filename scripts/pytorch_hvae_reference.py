"""The hierarchical VAE's recipe in PyTorch: the reference module of
crates/core/tests/fixtures/make_hvae_fixture.py at the shipped size (784-400-16, 16-128-2), BCE,
Adam 1e-3, batch 128, 30 epochs, on this project's split of web/assets/digits.bin.gz. Prints, per
epoch, the mean training loss and the test −ELBO (one draw of each layer) with its three terms, in
nats per digit, to compare with `train --kind hierarchical`.

Run: python scripts/pytorch_hvae_reference.py --seed 1   (needs torch)
"""

import argparse
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "crates/core/tests/fixtures"))
import digits_split  # noqa: E402
from make_hvae_fixture import HVAE, terms  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--latent", type=int, default=16)
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(1)

train, test, _, _ = digits_split.load()

model = HVAE(hidden=400, latent=args.latent, hidden_top=128, latent_top=2)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)


def noisy_terms(x):
    eps1, eps2 = torch.randn(len(x), args.latent), torch.randn(len(x), 2)
    return terms(model, model(x, eps1, eps2), x)


print("epoch train-loss test-ELBO  recon  KL(z1)  KL(z2)")
for epoch in range(1, args.epochs + 1):
    total = 0.0
    for batch in torch.randperm(len(train)).split(128):
        optimizer.zero_grad()
        loss = sum(noisy_terms(train[batch])).mean()
        loss.backward()
        total += loss.item() * len(batch)
        optimizer.step()
    with torch.no_grad():
        recon, kl1, kl2 = (t.mean().item() for t in noisy_terms(test))
    print(f"{epoch:5} {total / len(train):10.2f} {recon + kl1 + kl2:9.2f} {recon:6.2f} {kl1:7.2f} {kl2:7.2f}", flush=True)
