// Colormap stops shared by the heatmap PNGs (heatmap.ts) and the renderer's legend: pure data.

// Evenly spaced stops, linearly interpolated. Turbo-like: dark blue, blue, cyan, green, yellow,
// orange, dark red (a hand-picked rainbow, not Google's exact table).
export const TURBO_LIKE: readonly (readonly [number, number, number])[] = [
  [48, 18, 59],
  [65, 90, 220],
  [40, 170, 240],
  [30, 225, 180],
  [120, 250, 80],
  [210, 230, 50],
  [250, 160, 40],
  [220, 70, 15],
  [122, 4, 3],
];

// MATLAB's jet: dark blue, blue, cyan, yellow, red, dark red.
export const JET: readonly (readonly [number, number, number])[] = [
  [0, 0, 128],
  [0, 0, 255],
  [0, 255, 255],
  [255, 255, 0],
  [255, 0, 0],
  [128, 0, 0],
];
