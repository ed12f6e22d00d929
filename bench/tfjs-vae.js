// The reference for the benchmark: the same 784-400-20 VAE as vae-core, written with TensorFlow.js
// the way a careful tfjs user would (fused matMul + bias + ReLU, tf.train.adam, tidy scopes).
// Same layers (fc1, fc21, fc22, fc3, fc4), same loss (Bernoulli BCE from the logits summed over
// pixels + closed-form KL, averaged over the batch), same Adam (lr, 0.9, 0.999, ε = 1e-8).
// `tf` is the global of tf.min.js with the backend already chosen.

/** A linear layer with PyTorch's default init (uniform ±1/√fan_in). */
function linear(tf, inputs, outputs, seed) {
  const bound = 1 / Math.sqrt(inputs);
  return {
    w: tf.variable(tf.randomUniform([inputs, outputs], -bound, bound, "float32", seed)),
    b: tf.variable(tf.randomUniform([outputs], -bound, bound, "float32", seed + 1)),
  };
}

export function createTfjsVae(tf, { input = 784, hidden = 400, latent = 20, seed = 1 } = {}) {
  const fc1 = linear(tf, input, hidden, seed);
  const fc21 = linear(tf, hidden, latent, seed + 2);
  const fc22 = linear(tf, hidden, latent, seed + 4);
  const fc3 = linear(tf, latent, hidden, seed + 6);
  const fc4 = linear(tf, hidden, input, seed + 8);
  const dense = (layer, x, activation) => tf.fused.matMul({ a: x, b: layer.w, bias: layer.b, activation });

  // x: [batch, 784] → μ, log σ²: [batch, latent]
  const encode = (x) => {
    const h = dense(fc1, x, "relu");
    return { mu: dense(fc21, h), logvar: dense(fc22, h) };
  };
  // z: [batch, latent] → logits: [batch, 784]
  const decodeLogits = (z) => dense(fc4, dense(fc3, z, "relu"));

  // −ELBO in nats per digit: Σ BCE(logits, x) + ½Σ(σ² + μ² − 1 − log σ²), mean over the batch.
  const loss = (x) => {
    const batch = x.shape[0];
    const { mu, logvar } = encode(x);
    const eps = tf.randomNormal(mu.shape);
    const z = mu.add(eps.mul(logvar.mul(0.5).exp()));
    const logits = decodeLogits(z);
    const bce = tf.relu(logits).sub(x.mul(logits)).add(tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const kl = logvar.exp().add(mu.square()).sub(logvar).sub(1).mul(0.5);
    return bce.sum().add(kl.sum()).div(batch);
  };

  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  return {
    /** One Adam step on the rows `indices` of `data` ([n, 784]); resolves to the loss (read back). */
    async trainStep(data, indices) {
      const cost = tf.tidy(() => {
        const x = tf.gather(data, indices);
        return optimizer.minimize(() => loss(x), true);
      });
      const value = (await cost.data())[0];
      cost.dispose();
      return value;
    },
    /** Encode one digit and decode its μ; resolves to { mu, pixels } (both read back). */
    async encodeDecode(x) {
      const [mu, pixels] = tf.tidy(() => {
        const { mu } = encode(x);
        return [mu, tf.sigmoid(decodeLogits(mu))];
      });
      const out = { mu: await mu.data(), pixels: await pixels.data() };
      tf.dispose([mu, pixels]);
      return out;
    },
    /** Decode latent points z ([k, latent]); resolves to the pixels (read back). */
    async decode(z) {
      const pixels = tf.tidy(() => tf.sigmoid(decodeLogits(z)));
      const out = await pixels.data();
      pixels.dispose();
      return out;
    },
  };
}
