// `sightline inspect`: open a log the same way the app does and summarise it.
import type { LogInfo } from './model.js';
import { detectLog, logIdFromFingerprint, openDriveLog } from './open.js';

export interface LogSummary extends LogInfo {
  openMs: number;
}

export async function inspectLog(path: string, referenceSensor?: string): Promise<LogSummary> {
  const started = performance.now();
  const detected = await detectLog(path);
  const drive = await openDriveLog(path, detected, { logId: logIdFromFingerprint(detected.fingerprint), referenceSensor });
  const openMs = performance.now() - started;
  try {
    return { ...drive.info, openMs };
  } finally {
    await drive.close();
  }
}

export function formatSummary(s: LogSummary): string {
  const lines = [
    `${s.name}  (${s.format}, ${(s.sizeBytes / 1e6).toFixed(1)} MB, opened in ${s.openMs.toFixed(0)} ms)`,
    `  duration   ${s.durationS.toFixed(2)} s   frames ${s.frameCount} (reference: ${s.referenceSensor})   labels ${s.labelCount}`,
    '  streams',
    ...s.streams.map(
      (st) => `    ${st.topic.padEnd(36)} ${st.kind.padEnd(18)} ${st.schema.padEnd(28)} ${String(st.messageCount).padStart(6)} msgs ${st.rateHz.toFixed(1).padStart(6)} Hz`,
    ),
    '  sensors',
    ...s.sensors.map((sn) => {
      const calib = sn.intrinsics ? `${sn.intrinsics.width}x${sn.intrinsics.height} fx=${sn.intrinsics.K[0]?.toFixed(1)}` : sn.kind === 'camera' ? 'no calibration' : '';
      const ext = sn.extrinsic ? `at [${sn.extrinsic.translation.map((v) => v.toFixed(2)).join(', ')}]` : 'no extrinsic';
      return `    ${sn.id.padEnd(20)} ${sn.kind.padEnd(7)} frame ${sn.frameId || '?'}  ${ext}  ${calib}`;
    }),
  ];
  if (s.warnings.length) lines.push('  warnings', ...s.warnings.map((w) => `    ! ${w}`));
  return lines.join('\n');
}
