// Occlusion-saliency benchmark: ms per map (and per forward pass) for a car detection on a KITTI
// fixture frame, full image and the window around the target.
// Run: npm run build:core && node dist/src/bench/saliency.js [--model yolox-nano|centernet-coco|nanodet-coco]
//        [--device auto|gpu|cpu] [--patch N] [--stride N] [--batch N] [--out DIR]
//   --out writes the heatmap PNG and the heatmap composited over the frame, to look at.
//   SIGHTLINE_FIXTURES: where the real-data fixtures live (default ../shared/fixtures).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { computeSaliency, saliencyToPng, type SaliencyTarget } from '../explain/index.js';
import { createOutputDecoder, createPreprocessor, createSession, ModelRegistry, type DeviceChoice } from '../infer/index.js';

const fixturesDir = resolve(process.env.SIGHTLINE_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures'));
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const modelId = arg('model') ?? 'yolox-nano';
const device = (arg('device') ?? 'auto') as DeviceChoice;
const patch = Number(arg('patch') ?? 48);
const stride = Number(arg('stride') ?? patch / 2);
const batch = arg('batch') ? Number(arg('batch')) : undefined;
const outDir = arg('out');

const home = mkdtempSync(join(tmpdir(), 'sightline-bench-saliency-'));
try {
  const registry = ModelRegistry.open(join(home, 'data'));
  if (modelId === 'yolox-nano') {
    // The fixture model, with the preprocessing SOURCES.md gives for it.
    const classes = readFileSync(join(fixturesDir, 'models', 'yolox_nano', 'coco_classes.txt'), 'utf8').trim().split('\n');
    const manifest = {
      id: 'yolox-nano',
      name: 'YOLOX-nano',
      task: 'detect2d',
      format: 'onnx',
      file: 'yolox_nano.onnx',
      input: { name: 'images', width: 416, height: 416, layout: 'NCHW', colorOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', letterboxAlign: 'top-left', padValue: 114 },
      decoder: { kind: 'yolox', output: 'output' },
      classes,
    };
    writeFileSync(join(home, 'yolox.json'), JSON.stringify(manifest));
    await registry.add(join(fixturesDir, 'models', 'yolox_nano', 'yolox_nano.onnx'), join(home, 'yolox.json'));
  }
  const model = await registry.resolve(modelId);
  const session = await createSession(model, { device, log: (l) => console.log(l) });
  const imagePath = join(fixturesDir, 'kitti_object_extra', 'training', 'image_2', '000134.png');
  const image = readFileSync(imagePath);

  // The most confident car the model finds.
  const input = await createPreprocessor(model.manifest)({ data: image });
  const [raw] = await session.run([input]);
  const car = createOutputDecoder(model.manifest)(raw!, input).detections.find((d) => d.label === 'car');
  if (!car) throw new Error(`${modelId} finds no car on ${imagePath}`);
  const target: SaliencyTarget = { x1: car.x1, y1: car.y1, x2: car.x2, y2: car.y2, label: 'car', score: car.score };
  console.log(`${modelId} on ${session.backend}: target car ${car.score.toFixed(3)} [${[car.x1, car.y1, car.x2, car.y2].map((v) => v.toFixed(0)).join(', ')}]`);

  for (const region of ['full', 'target'] as const) {
    const result = await computeSaliency({ image, model, session, target, params: { patch, stride, region, fill: 'mean', device, batch } });
    console.log(
      `${region.padEnd(6)} patch ${patch} stride ${stride}: ${result.ms.toFixed(0)} ms per map, ${result.passes} occluded passes + 1, ` +
        `${(result.ms / (result.passes + 1)).toFixed(1)} ms per pass (batch ${result.params.batch}); peak (${result.peak.x.toFixed(0)}, ${result.peak.y.toFixed(0)}) drop ${result.peak.value.toFixed(3)} of ${result.baselineScore.toFixed(3)}`,
    );
    if (outDir) {
      mkdirSync(outDir, { recursive: true });
      const size = { width: result.sourceWidth, height: result.sourceHeight };
      const heat = await saliencyToPng(result, size, 'turbo');
      writeFileSync(join(outDir, `saliency-${modelId}-${region}.png`), heat);
      await sharp(image).composite([{ input: heat }]).png().toFile(join(outDir, `overlay-${modelId}-${region}.png`));
    }
  }
  await session.dispose();
} finally {
  rmSync(home, { recursive: true, force: true });
}
