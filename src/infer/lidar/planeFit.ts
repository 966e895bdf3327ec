// Least-squares plane fitting by PCA over running sums: the plane normal is the eigenvector of the
// smallest eigenvalue of the 3x3 covariance. No allocation: accumulators are plain numbers and the
// result is written into a caller-owned Float64Array.

/** Running sums for a plane fit. Reset before each fit. */
export class PlaneAccumulator {
  n = 0;
  private sx = 0;
  private sy = 0;
  private sz = 0;
  private sxx = 0;
  private sxy = 0;
  private sxz = 0;
  private syy = 0;
  private syz = 0;
  private szz = 0;

  reset(): void {
    this.n = 0;
    this.sx = this.sy = this.sz = 0;
    this.sxx = this.sxy = this.sxz = this.syy = this.syz = this.szz = 0;
  }

  add(x: number, y: number, z: number): void {
    this.n++;
    this.sx += x;
    this.sy += y;
    this.sz += z;
    this.sxx += x * x;
    this.sxy += x * y;
    this.sxz += x * z;
    this.syy += y * y;
    this.syz += y * z;
    this.szz += z * z;
  }

  /**
   * Fits the plane n·p + d = 0 with |n| = 1 and n.z >= 0, written to out[0..3] = [nx, ny, nz, d];
   * out[4] = smallest eigenvalue (mean squared distance to the plane). Returns false with < 3 points.
   */
  fit(out: Float64Array): boolean {
    const n = this.n;
    if (n < 3) return false;
    const mx = this.sx / n;
    const my = this.sy / n;
    const mz = this.sz / n;
    const a00 = this.sxx / n - mx * mx;
    const a01 = this.sxy / n - mx * my;
    const a02 = this.sxz / n - mx * mz;
    const a11 = this.syy / n - my * my;
    const a12 = this.syz / n - my * mz;
    const a22 = this.szz / n - mz * mz;
    const lambda = smallestEigenvector(a00, a01, a02, a11, a12, a22, out);
    if (out[2]! < 0) {
      out[0] = -out[0]!;
      out[1] = -out[1]!;
      out[2] = -out[2]!;
    }
    out[3] = -(out[0]! * mx + out[1]! * my + out[2]! * mz);
    out[4] = Math.max(0, lambda);
    return true;
  }
}

/**
 * Smallest eigenpair of a symmetric 3x3 matrix (closed-form eigenvalues, eigenvector from the
 * best-conditioned cross product of two rows of A - λI). Writes the unit vector to out[0..2].
 */
export function smallestEigenvector(a00: number, a01: number, a02: number, a11: number, a12: number, a22: number, out: Float64Array): number {
  const p1 = a01 * a01 + a02 * a02 + a12 * a12;
  const q = (a00 + a11 + a22) / 3;
  const b00 = a00 - q;
  const b11 = a11 - q;
  const b22 = a22 - q;
  const p2 = b00 * b00 + b11 * b11 + b22 * b22 + 2 * p1;
  const p = Math.sqrt(p2 / 6);
  if (p < 1e-12) {
    // Isotropic: any direction is an eigenvector; prefer "up" for a ground fit.
    out[0] = 0;
    out[1] = 0;
    out[2] = 1;
    return q;
  }
  const detB = b00 * (b11 * b22 - a12 * a12) - a01 * (a01 * b22 - a12 * a02) + a02 * (a01 * a12 - b11 * a02);
  const r = Math.max(-1, Math.min(1, detB / (2 * p * p * p)));
  const phi = Math.acos(r) / 3;
  const lambda = q + 2 * p * Math.cos(phi + (2 * Math.PI) / 3);
  const m00 = a00 - lambda;
  const m11 = a11 - lambda;
  const m22 = a22 - lambda;
  // Rows of M = A - λI: (m00, a01, a02), (a01, m11, a12), (a02, a12, m22).
  const c0x = a01 * a12 - a02 * m11;
  const c0y = a02 * a01 - m00 * a12;
  const c0z = m00 * m11 - a01 * a01;
  const c1x = a01 * m22 - a02 * a12;
  const c1y = a02 * a02 - m00 * m22;
  const c1z = m00 * a12 - a01 * a02;
  const c2x = m11 * m22 - a12 * a12;
  const c2y = a12 * a02 - a01 * m22;
  const c2z = a01 * a12 - m11 * a02;
  const n0 = c0x * c0x + c0y * c0y + c0z * c0z;
  const n1 = c1x * c1x + c1y * c1y + c1z * c1z;
  const n2 = c2x * c2x + c2y * c2y + c2z * c2z;
  let x = c0x;
  let y = c0y;
  let z = c0z;
  let norm = n0;
  if (n1 > norm) {
    x = c1x;
    y = c1y;
    z = c1z;
    norm = n1;
  }
  if (n2 > norm) {
    x = c2x;
    y = c2y;
    z = c2z;
    norm = n2;
  }
  if (norm < 1e-30) {
    out[0] = 0;
    out[1] = 0;
    out[2] = 1;
    return lambda;
  }
  const inv = 1 / Math.sqrt(norm);
  out[0] = x * inv;
  out[1] = y * inv;
  out[2] = z * inv;
  return lambda;
}
