// The latent map: test digits at their μ (or its 2-D projection), coloured by label, over grey
// prior samples if given, the prior's 2σ circle, the drawing's μ with its 2σ ellipse and draws, and the walk's point. Click, drag or
// use the arrow keys to pick a point; the map reports map coordinates.

export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export class LatentMap {
  constructor(canvas, { onPick = null, showPrior = true } = {}) {
    this.canvas = canvas;
    this.onPick = onPick;
    this.showPrior = showPrior;
    this.cursor = [0, 0];
    let pressed = false;
    const pick = (e) => {
      if (!this.points || this.message || !this.onPick) return;
      const r = canvas.getBoundingClientRect();
      const px = ((e.clientX - r.left) / r.width) * 2 * this.range - this.range;
      const py = this.range - ((e.clientY - r.top) / r.height) * 2 * this.range;
      this.cursor = [px, py];
      this.onPick([px, py]);
    };
    if (onPick) {
      canvas.tabIndex = 0;
      canvas.addEventListener("keydown", (e) => {
        const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
        const move = moves[e.key] ?? (e.key === "Enter" || e.key === " " ? [0, 0] : null);
        if (!move || !this.points || this.message) return;
        e.preventDefault();
        const step = this.range / (e.shiftKey ? 4 : 20);
        const clamp = (v) => Math.max(-this.range, Math.min(this.range, v));
        this.cursor = [clamp(this.cursor[0] + move[0] * step), clamp(this.cursor[1] + move[1] * step)];
        this.onPick([...this.cursor]);
      });
    }
    canvas.addEventListener("pointerdown", (e) => {
      pressed = true;
      canvas.setPointerCapture?.(e.pointerId);
      pick(e);
    });
    canvas.addEventListener("pointermove", (e) => pressed && pick(e));
    for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => (pressed = false));
    this.ctx = canvas.getContext("2d");
    this.points = null;
    this.labels = null;
    this.probe = null;
    this.range = 4;
    this.message = null;
  }

  setPoints(mu, labels) {
    this.points = mu;
    this.labels = labels;
    if (!mu) return this.draw();
    // Symmetric range that holds 99% of the points (and of the backdrop), with a margin.
    const sorted = Array.from(mu, Math.abs).concat(Array.from(this.backdrop ?? [], Math.abs)).sort((a, b) => a - b);
    this.range = Math.max(3, sorted[Math.floor(sorted.length * 0.99)] * 1.1);
    this.draw();
  }

  /** Points (k×2) drawn in grey beneath the test digits: samples of a prior the codes should fill.
   * Set it before `setPoints`, which takes it into the map's range. */
  setBackdrop(points) {
    this.backdrop = points;
    this.cacheFor = null;
  }

  /** The drawing's μ, its σ ellipse, and decoded draws z (k×2) from q(z|x) if given. */
  setProbe(mu, sigma, draws = null) {
    this.probe = mu ? { mu, sigma: sigma ?? [0, 0], draws } : null;
    this.draw();
  }

  /** The walk's current point (first two dimensions), or null. */
  setWalker(z) {
    this.walker = z ? [z[0], z[1]] : null;
    this.draw();
  }

  setMessage(text) {
    this.message = text;
    this.draw();
  }

  #x(v) {
    return ((v + this.range) / (2 * this.range)) * this.canvas.width;
  }

  #y(v) {
    return ((this.range - v) / (2 * this.range)) * this.canvas.height;
  }

  /** Redraws the static layer (axes and test digits) only when the points or message change. */
  #layer() {
    if (!this.cache) {
      this.cache = document.createElement("canvas");
      this.cache.width = this.canvas.width;
      this.cache.height = this.canvas.height;
    }
    if (this.cacheFor === this.points && this.cacheMessage === this.message) return this.cache;
    const ctx = this.cache.getContext("2d");
    const { width, height } = this.cache;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    if (this.points && !this.message) {
      ctx.fillStyle = "#5b616e";
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = "left";
      ctx.fillText(`±${this.range.toFixed(1)}`, 4, 12);
    }
    if (this.message) {
      ctx.fillStyle = "#5b616e";
      ctx.font = "14px system-ui, sans-serif";
      ctx.textAlign = "center";
      this.message.split("\n").forEach((line, i) => ctx.fillText(line, width / 2, height / 2 + i * 20));
    } else {
      ctx.strokeStyle = "#e1e4ea";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(this.#x(0), 0);
      ctx.lineTo(this.#x(0), height);
      ctx.moveTo(0, this.#y(0));
      ctx.lineTo(width, this.#y(0));
      ctx.stroke();
      if (this.showPrior) {
        // Where N(0, I) puts 95% of its mass in 2-D (radius √(χ²₂ 0.95) ≈ 2.45).
        ctx.strokeStyle = "#9aa1ad";
        ctx.setLineDash([2, 4]);
        ctx.beginPath();
        ctx.arc(this.#x(0), this.#y(0), (2.45 / (2 * this.range)) * width, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      if (this.backdrop) {
        ctx.fillStyle = "#8a909c";
        for (let i = 0; i < this.backdrop.length / 2; i++) {
          ctx.fillRect(this.#x(this.backdrop[2 * i]) - 1.25, this.#y(this.backdrop[2 * i + 1]) - 1.25, 2.5, 2.5);
        }
      }
      if (this.points) {
        ctx.globalAlpha = 0.65;
        for (let i = 0; i < this.labels.length; i++) {
          ctx.fillStyle = PALETTE[this.labels[i]];
          ctx.beginPath();
          ctx.arc(this.#x(this.points[2 * i]), this.#y(this.points[2 * i + 1]), 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
        ctx.globalAlpha = 1;
      }
    }
    this.cacheFor = this.points;
    this.cacheMessage = this.message;
    return this.cache;
  }

  draw() {
    const { ctx } = this;
    ctx.drawImage(this.#layer(), 0, 0);
    if (this.message) return;
    if (this.walker) {
      ctx.fillStyle = "#3d5afe";
      ctx.fillRect(this.#x(this.walker[0]) - 5, this.#y(this.walker[1]) - 5, 10, 10);
    }
    if (this.probe) {
      const [mx, my] = this.probe.mu;
      const [sx, sy] = this.probe.sigma;
      const scale = this.canvas.width / (2 * this.range);
      ctx.strokeStyle = "#1d1f24";
      if (sx || sy) {
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.ellipse(this.#x(mx), this.#y(my), Math.max(2 * sx * scale, 1), Math.max(2 * sy * scale, 1), 0, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.fillStyle = "#1d1f24";
      for (let k = 0; this.probe.draws && k < this.probe.draws.length / 2; k++) {
        ctx.fillRect(this.#x(this.probe.draws[2 * k]) - 1.5, this.#y(this.probe.draws[2 * k + 1]) - 1.5, 3, 3);
      }
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(this.#x(mx), this.#y(my), 6, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
  }
}
