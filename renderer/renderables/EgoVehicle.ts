// A simple low-poly car at the ego origin (base_link at the rear axle on the ground, x forward).
import { BoxGeometry, EdgesGeometry, Group, LineBasicMaterial, LineSegments, Mesh, MeshLambertMaterial, type BufferGeometry, type Material } from 'three';
import { mergeGeometries } from 'three/examples/jsm/utils/BufferGeometryUtils.js';

export interface EgoDimensions {
  rearX: number;
  frontX: number;
  width: number;
  height: number;
}

export const DEFAULT_EGO: EgoDimensions = { rearX: -0.95, frontX: 3.75, width: 1.9, height: 1.55 };

export function createEgoVehicle(d: EgoDimensions = DEFAULT_EGO): { object: Group; dispose(): void } {
  const group = new Group();
  const bodyMaterial = new MeshLambertMaterial({ color: 0x5d6b80, transparent: true, opacity: 0.9 });
  const cabinMaterial = new MeshLambertMaterial({ color: 0x2b3442, transparent: true, opacity: 0.9 });
  const wheelMaterial = new MeshLambertMaterial({ color: 0x15181d });
  const edgeMaterial = new LineBasicMaterial({ color: 0xc8d3e6, transparent: true, opacity: 0.55 });
  const materials: Material[] = [bodyMaterial, cabinMaterial, wheelMaterial, edgeMaterial];
  const length = d.frontX - d.rearX;
  const box = (l: number, w: number, h: number, x: number, y: number, z: number): BufferGeometry => new BoxGeometry(l, w, h).translate(x, y, z);
  const bodyH = d.height * 0.48;
  const clearance = 0.22;
  const body = box(length, d.width, bodyH, d.rearX + length / 2, 0, clearance + bodyH / 2);
  const cabinL = length * 0.5;
  const cabinH = d.height - clearance - bodyH;
  const cabin = box(cabinL, d.width * 0.86, cabinH, d.rearX + length * 0.42, 0, clearance + bodyH + cabinH / 2);
  const wheelR = 0.33;
  const wheelbase = length * 0.6;
  const wheelParts: BufferGeometry[] = [];
  for (const x of [0, wheelbase]) {
    for (const y of [-1, 1]) wheelParts.push(box(wheelR * 2, 0.24, wheelR * 2, x, y * (d.width / 2 - 0.1), wheelR));
  }
  const edgeParts = [new EdgesGeometry(body), new EdgesGeometry(cabin)];
  // One geometry per material: four draw calls for the whole car (it is drawn every frame).
  const wheels = mergeGeometries(wheelParts)!;
  const edges = mergeGeometries(edgeParts)!;
  [...wheelParts, ...edgeParts].forEach((g) => g.dispose());
  const geometries = [body, cabin, wheels, edges];
  group.add(new Mesh(body, bodyMaterial), new Mesh(cabin, cabinMaterial), new Mesh(wheels, wheelMaterial), new LineSegments(edges, edgeMaterial));
  group.matrixAutoUpdate = true;
  return {
    object: group,
    dispose() {
      geometries.forEach((g) => g.dispose());
      materials.forEach((m) => m.dispose());
    },
  };
}
