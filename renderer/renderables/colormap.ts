// The turbo colormap (Google, Apache-2.0), as the polynomial fit by Ruofei Du, in GLSL for the
// point shader and in JS for legends, so both agree.

export const TURBO_GLSL = /* glsl */ `
vec3 turbo(float x) {
  const vec4 kRedVec4 = vec4(0.13572138, 4.61539260, -42.66032258, 132.13108234);
  const vec4 kGreenVec4 = vec4(0.09140261, 2.19418839, 4.84296658, -14.18503333);
  const vec4 kBlueVec4 = vec4(0.10667330, 12.64194608, -60.58204836, 110.36276771);
  const vec2 kRedVec2 = vec2(-152.94239396, 59.28637943);
  const vec2 kGreenVec2 = vec2(4.27729857, 2.82956604);
  const vec2 kBlueVec2 = vec2(-89.90310912, 27.34824973);
  x = clamp(x, 0.0, 1.0);
  vec4 v4 = vec4(1.0, x, x * x, x * x * x);
  vec2 v2 = v4.zw * v4.z;
  return clamp(vec3(
    dot(v4, kRedVec4) + dot(v2, kRedVec2),
    dot(v4, kGreenVec4) + dot(v2, kGreenVec2),
    dot(v4, kBlueVec4) + dot(v2, kBlueVec2)
  ), 0.0, 1.0);
}
`;

export function turbo(x: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, x));
  const t2 = t * t;
  const t3 = t2 * t;
  const t4 = t2 * t2;
  const t5 = t4 * t;
  const c = (a: number, b: number, c2: number, d: number, e: number, f: number) => Math.min(1, Math.max(0, a + b * t + c2 * t2 + d * t3 + e * t4 + f * t5));
  return [
    c(0.13572138, 4.6153926, -42.66032258, 132.13108234, -152.94239396, 59.28637943),
    c(0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604),
    c(0.1066733, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973),
  ];
}

/** A CSS linear-gradient of the colormap, for legends. */
export function turboGradientCss(direction = 'to right'): string {
  const stops: string[] = [];
  for (let i = 0; i <= 16; i++) {
    const [r, g, b] = turbo(i / 16);
    stops.push(`rgb(${Math.round(r * 255)} ${Math.round(g * 255)} ${Math.round(b * 255)}) ${((i / 16) * 100).toFixed(1)}%`);
  }
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}
