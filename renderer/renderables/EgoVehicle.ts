// A simple low-poly car at the ego origin (base_link at the rear axle on the ground, x forward).
import { BoxGeometry, EdgesGeometry, Group, LineBasicMaterial, LineSegments, Mesh, MeshLambertMaterial, type BufferGeometry, type Material } from 'three';

export interface EgoDimensions {
  rearX: number;
  frontX: number;
  width: number;
  height: number;
}

export const DEFAULT_EGO: EgoDimensions = { rearX: -0.95, frontX: 3.75, width: 1.9, height: 1.55 };

export function createEgoVehicle(d: EgoDimensions = DEFAULT_EGO): { object: Group; dispose(): void } {
  const group = new Group();
  const geometries: BufferGeometry[] = [];
  const materials: Material[] = [];
  const bodyMaterial = new MeshLambertMaterial({ color: 0x5d6b80, transparent: true, opacity: 0.9 });
  const cabinMaterial = new MeshLambertMaterial({ color: 0x2b3442, transparent: true, opacity: 0.9 });
  const wheelMaterial = new MeshLambertMaterial({ color: 0x15181d });
  const edgeMaterial = new LineBasicMaterial({ color: 0xc8d3e6, transparent: true, opacity: 0.55 });
  materials.push(bodyMaterial, cabinMaterial, wheelMaterial, edgeMaterial);
  const length = d.frontX - d.rearX;
  const addBox = (l: number, w: number, h: number, x: number, y: number, z: number, material: Material, edges: boolean) => {
    const geometry = new BoxGeometry(l, w, h);
    geometries.push(geometry);
    const mesh = new Mesh(geometry, material);
    mesh.position.set(x, y, z);
    group.add(mesh);
    if (edges) {
      const edgeGeometry = new EdgesGeometry(geometry);
      geometries.push(edgeGeometry);
      const line = new LineSegments(edgeGeometry, edgeMaterial);
      line.position.copy(mesh.position);
      group.add(line);
    }
  };
  const bodyH = d.height * 0.48;
  const clearance = 0.22;
  addBox(length, d.width, bodyH, d.rearX + length / 2, 0, clearance + bodyH / 2, bodyMaterial, true);
  const cabinL = length * 0.5;
  const cabinH = d.height - clearance - bodyH;
  addBox(cabinL, d.width * 0.86, cabinH, d.rearX + length * 0.42, 0, clearance + bodyH + cabinH / 2, cabinMaterial, true);
  const wheelR = 0.33;
  const wheelbase = length * 0.6;
  for (const x of [0, wheelbase]) {
    for (const y of [-1, 1]) addBox(wheelR * 2, 0.24, wheelR * 2, x, y * (d.width / 2 - 0.1), wheelR, wheelMaterial, false);
  }
  group.matrixAutoUpdate = true;
  return {
    object: group,
    dispose() {
      geometries.forEach((g) => g.dispose());
      materials.forEach((m) => m.dispose());
    },
  };
}
