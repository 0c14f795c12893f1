/**
 * Seeded PRNG (mulberry32). Every random decision in tunelab draws from an
 * Rng passed in explicitly, so runs are reproducible and the state can be
 * journaled (`state` is a single uint32).
 */
export class Rng {
  state: number;
  constructor(seed: number) {
    this.state = ((seed >>> 0) ^ 0x9e3779b9) >>> 0; // unsigned, as setState stores it (same stream)
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** standard normal (Box-Muller) */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** derive an independent stream (per trial, per component). */
  fork(salt: number): Rng {
    const r = new Rng(0);
    r.state = (Math.imul(this.state ^ salt, 0x85ebca6b) ^ salt) >>> 0;
    return r;
  }
  getState(): number { return this.state; }
  setState(s: number): void { this.state = s >>> 0; }
}
