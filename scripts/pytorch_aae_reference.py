"""The adversarial autoencoder's recipe in PyTorch: the reference module of
crates/core/tests/fixtures/make_aae_fixture.py at the shipped size (784-400-2, discriminator
2-128-128-1), Bernoulli reconstruction, Adam for each phase (reconstruction 1e-3, discriminator and
generator --reg-lr, 1e-3 by default), batch 128, on this project's split of web/assets/digits.bin.gz. Prints, per
epoch, the mean losses of the three phases, the test reconstruction error (nats per digit) and the
unbiased MMD² between 1,000 test codes and as many prior samples, to compare with
`train --kind adversarial`.

Run: python scripts/pytorch_aae_reference.py --prior ring --seed 1   (needs torch)
"""

import argparse
import pathlib
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "crates/core/tests/fixtures"))
import digits_split  # noqa: E402
from make_aae_fixture import AAE, CLASSES, discriminator_loss, gaussian, generator_loss, mmd2, recon_loss, ring, swiss_roll  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--prior", choices=["gaussian", "ring", "swissroll"], default="ring")
parser.add_argument("--label-guided", action="store_true")
parser.add_argument("--latent", type=int, default=2)
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--reg-lr", type=float, default=1e-3)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(1)

train, test, train_labels, test_labels = digits_split.load()


def prior(n, labels):
    labels = labels if args.label_guided else None
    if args.prior == "gaussian":
        return gaussian(n, args.latent)
    return ring(n, labels) if args.prior == "ring" else swiss_roll(n, labels)


model = AAE(hidden=400, latent=args.latent, hidden_disc=128, labels=args.label_guided)
ae_opt = torch.optim.Adam([*model.encoder.parameters(), *model.decoder.parameters()], lr=1e-3)
d_opt = torch.optim.Adam(model.discriminator.parameters(), lr=args.reg_lr)
g_opt = torch.optim.Adam(model.encoder.parameters(), lr=args.reg_lr)


def test_figures():
    with torch.no_grad():
        z = model.encoder(test)
        recon = recon_loss(model.decoder(z), test).mean().item()
        return recon, mmd2(z, prior(len(test), test_labels)).item()


print(f"epoch  recon  D-loss G-loss  test-recon  MMD²   (at init: MMD² {test_figures()[1]:.4f})")
for epoch in range(1, args.epochs + 1):
    sums = torch.zeros(3)
    for batch in torch.randperm(len(train)).split(128):
        x, y = train[batch], train_labels[batch]
        onehot = F.one_hot(y, CLASSES).float() if args.label_guided else None
        ae_opt.zero_grad()
        recon = recon_loss(model.decoder(model.encoder(x)), x).mean()
        recon.backward()
        ae_opt.step()
        d_opt.zero_grad()
        d = discriminator_loss(model.discriminator(prior(len(x), y), onehot), model.discriminator(model.encoder(x).detach(), onehot))
        d.backward()
        d_opt.step()
        g_opt.zero_grad()
        g = generator_loss(model.discriminator(model.encoder(x), onehot))
        g.backward()
        g_opt.step()
        sums += torch.tensor([recon.item(), d.item(), g.item()]) * len(x)
    r, d, g = (sums / len(train)).tolist()
    test_recon, mmd = test_figures()
    print(f"{epoch:5} {r:6.2f} {d:6.3f} {g:6.3f} {test_recon:11.2f} {mmd:6.4f}", flush=True)
