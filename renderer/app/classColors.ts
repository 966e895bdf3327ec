// One palette for object classes, used by the camera (2D) and the 3D view alike. Labels from any
// dataset (KITTI "Car", nuScenes "vehicle.car", ...) map onto a few families by keyword.

const FAMILIES: Array<[RegExp, string]> = [
  [/pedestrian|person|human|walker/, '#ff4d7a'],
  [/cyclist|bicycle|bike|rider/, '#b8f03c'],
  [/motorcycle|motorbike|moped/, '#e062ff'],
  [/truck|trailer|construction/, '#ff9626'],
  [/bus|tram|train/, '#ffc94d'],
  [/van/, '#4dd8e6'],
  [/car|vehicle/, '#3fa1ff'],
  [/cone|barrier|bollard|movable|traffic/, '#f2e14c'],
  [/animal/, '#b08cff'],
];

const cache = new Map<string, string>();

export function classColor(label: string): string {
  let color = cache.get(label);
  if (color) return color;
  const l = label.toLowerCase();
  color = FAMILIES.find(([re]) => re.test(l))?.[1];
  if (!color) {
    // Unknown classes: a stable hue from the name.
    let h = 0;
    for (let i = 0; i < l.length; i++) h = (h * 31 + l.charCodeAt(i)) >>> 0;
    color = `hsl(${h % 360} 70% 62%)`;
  }
  cache.set(label, color);
  return color;
}

export const IGNORE_COLOR = '#8a919c';

const rgbCache = new Map<string, [number, number, number]>();

/** The class colour as linear-ish 0..1 RGB (for WebGL vertex colours). */
export function classColorRgb(label: string): [number, number, number] {
  let rgb = rgbCache.get(label);
  if (rgb) return rgb;
  rgb = cssToRgb(classColor(label));
  rgbCache.set(label, rgb);
  return rgb;
}

function cssToRgb(css: string): [number, number, number] {
  if (css.startsWith('#')) {
    const n = parseInt(css.slice(1), 16);
    return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
  }
  const m = /hsl\((\d+)\s+(\d+)%\s+(\d+)%\)/.exec(css);
  if (!m) return [1, 1, 1];
  const h = Number(m[1]) / 360;
  const s = Number(m[2]) / 100;
  const l = Number(m[3]) / 100;
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const hue = (t: number) => {
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return [hue(h + 1 / 3), hue(h), hue(h - 1 / 3)];
}
