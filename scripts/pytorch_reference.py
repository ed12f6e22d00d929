"""The reference recipe in PyTorch: pytorch/examples `vae/main.py` (784-400-latent, BCE, Adam 1e-3,
batch 128, 30 epochs) on this project's split of web/assets/digits.bin.gz. Prints the test −ELBO
(one z sample, and z = μ) in nats per digit, to compare with `cargo run --release --bin train`.

Run: python scripts/pytorch_reference.py --latent 2 --seed 1   (needs torch)
"""

import argparse

import torch
import torch.nn.functional as F
from torch import nn

import digits_split

parser = argparse.ArgumentParser()
parser.add_argument("--latent", type=int, default=20)
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(1)

train, test, _, _ = digits_split.load()


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, args.latent)
        self.fc22 = nn.Linear(400, args.latent)
        self.fc3 = nn.Linear(args.latent, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x, sample=True):
        h1 = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def loss_function(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


model = VAE()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(1, args.epochs + 1):
    total = 0.0
    for batch in torch.randperm(len(train)).split(128):
        x = train[batch]
        optimizer.zero_grad()
        recon, mu, logvar = model(x)
        loss = loss_function(recon, x, mu, logvar)
        loss.backward()
        total += loss.item()
        optimizer.step()
    with torch.no_grad():
        recon, mu, logvar = model(test)
        sampled = loss_function(recon, test, mu, logvar).item() / len(test)
        recon, mu, logvar = model(test, sample=False)
        at_mean = loss_function(recon, test, mu, logvar).item() / len(test)
    print(f"{epoch:5} {total / len(train):10.2f} {sampled:10.2f} {at_mean:10.2f}", flush=True)
