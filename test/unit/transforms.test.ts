import { describe, expect, it } from 'vitest';
import type { Pose, Vec3 } from '../../src/logs/model.js';
import { applyPose, composePoses, invertPose, poseFromMatrix3x4, quatFromYaw, TransformTree, yawFromQuat } from '../../src/logs/transforms.js';

const close = (a: Vec3, b: Vec3) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 9));

describe('transforms', () => {
  it('composes, inverts and converts rotations consistently', () => {
    const a: Pose = { translation: [1, 2, 3], rotation: quatFromYaw(Math.PI / 2) };
    const b: Pose = { translation: [-4, 0.5, 1], rotation: quatFromYaw(-0.3) };
    const p: Vec3 = [0.7, -1.1, 2];
    close(applyPose(composePoses(a, b), p), applyPose(a, applyPose(b, p)));
    close(applyPose(invertPose(a), applyPose(a, p)), p);
    close(applyPose(a, [1, 0, 0]), [1, 3, 3]); // 90° yaw maps +x to +y
    expect(yawFromQuat(quatFromYaw(2.5))).toBeCloseTo(2.5, 12);
    const m = poseFromMatrix3x4([0, -1, 0, 5, 1, 0, 0, 6, 0, 0, 1, 7]);
    close(applyPose(m, [1, 0, 0]), [5, 7, 7]);
  });

  it('chains static and dynamic edges and interpolates in time', () => {
    const tree = new TransformTree();
    tree.add('base_link', 'lidar', 0n, { translation: [1, 0, 2], rotation: [0, 0, 0, 1] }, true);
    tree.add('world', 'base_link', 1_000_000_000n, { translation: [0, 0, 0], rotation: quatFromYaw(0) });
    tree.add('world', 'base_link', 2_000_000_000n, { translation: [10, 0, 0], rotation: quatFromYaw(Math.PI / 2) });
    const mid = tree.lookup('world', 'lidar', 1_500_000_000n)!;
    // Halfway: base at x=5 with yaw 45°; the lidar sits 1 m ahead of it, 2 m up.
    close(mid.translation, [5 + Math.SQRT1_2, Math.SQRT1_2, 2]);
    const back = tree.lookup('lidar', 'world', 1_500_000_000n)!;
    close(applyPose(back, mid.translation), [0, 0, 0]);
    expect(tree.lookup('world', 'lidar', 9_000_000_000n)).toBeUndefined(); // far outside the samples
    expect(tree.lookup('world', 'camera', 1_500_000_000n)).toBeUndefined(); // unknown frame
  });
});
