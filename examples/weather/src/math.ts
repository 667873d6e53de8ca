export function mean (xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
}

export function std (xs: number[]): number {
  const m = mean(xs)
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)))
}

/** Ordinary least squares for y = a + b·x. */
export function linearFit (xs: number[], ys: number[]): { a: number, b: number, r2: number } {
  const mx = mean(xs)
  const my = mean(ys)
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < xs.length; i++) {
    sxy += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my)
    sxx += ((xs[i] ?? 0) - mx) ** 2
  }
  const b = sxx === 0 ? 0 : sxy / sxx
  const a = my - b * mx
  const ssTot = ys.reduce((s, y) => s + (y - my) ** 2, 0)
  const ssRes = ys.reduce((s, y, i) => s + (y - (a + b * (xs[i] ?? 0))) ** 2, 0)
  return { a, b, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot }
}
