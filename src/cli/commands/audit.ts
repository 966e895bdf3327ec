// `sightline audit verify | log`: prove the hash chain intact (and every label set's state equal to its
// events), or name the first event that breaks it; list the audit trail, filtered.
import { Command, InvalidArgumentError } from 'commander';
import { defaultDbPath } from '../../app/paths.js';
import { LabelService } from '../../labels/service.js';
import { verifyAuditChain } from '../../store/audit.js';
import { getAuditEvent, listAuditEvents, type AuditFilter } from '../../store/auditQuery.js';
import { listLabelSets } from '../../store/labelSets.js';
import { pad, parsePositiveInt, printJson, withExistingDb } from './labels.js';

const parseEntity = (value: string): { entityType: string; entityId?: string } => {
  const colon = value.indexOf(':');
  if (colon === 0) throw new InvalidArgumentError('must be TYPE or TYPE:ID (label:12, frame:<frame id>, label_set:3, issue:4, run:2, log:<id>)');
  return colon < 0 ? { entityType: value } : { entityType: value.slice(0, colon), entityId: value.slice(colon + 1) };
};

function summarise(payload: unknown): string {
  const text = JSON.stringify(payload) ?? '';
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the append-only, hash-chained audit trail');

  audit
    .command('verify')
    .description('recompute the hash chain and check every label set against its events; exit 1 naming the first broken event')
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--no-labels', 'check only the hash chain')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; labels: boolean; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const chain = verifyAuditChain(db);
        const broken = chain.brokenAt ? getAuditEvent(db, chain.brokenAt.seq) : undefined;
        const sets = opts.labels ? listLabelSets(db).map((s) => ({ set: s, check: new LabelService(db).verify(s.id) })) : [];
        const badSets = sets.filter((s) => !s.check.ok);
        if (opts.json) {
          printJson({ chain, brokenEvent: broken, labelSets: sets.map((s) => ({ id: s.set.id, name: s.set.name, ...s.check })) });
        } else {
          if (chain.ok) {
            process.stdout.write(`Audit chain intact: ${chain.events} events, head ${chain.headHash}\n`);
          } else {
            const where = broken ? ` (${broken.at}, ${broken.actor}, ${broken.action} ${broken.entityType}:${broken.entityId})` : '';
            process.stdout.write(
              `Audit chain BROKEN at event #${chain.brokenAt!.seq}${where}: ${chain.brokenAt!.reason}.\n` +
                `The ${chain.events - 1} events before it verify (last good hash ${chain.headHash}); this event and everything after it cannot be trusted.\n`,
            );
          }
          for (const { set, check } of sets) {
            if (check.ok) {
              process.stdout.write(`Label set ${set.id} '${set.name}': ${check.materialisation.labels} labels equal the replay of ${check.materialisation.events} events, all audited\n`);
              continue;
            }
            const m = check.materialisation;
            const parts = [
              ...(m.mismatches.length ? [`labels ${m.mismatches.slice(0, 10).map((x) => x.labelId).join(', ')} differ from the replay of their events`] : []),
              ...(m.rejectionMismatches.length ? [`rejections of detections ${m.rejectionMismatches.join(', ')} differ from the replay`] : []),
              ...(check.audit.mismatched.length ? [`events ${check.audit.mismatched.slice(0, 10).join(', ')} no longer match their audit record`] : []),
              ...(check.audit.missing.length ? [`events ${check.audit.missing.slice(0, 10).join(', ')} have no audit record`] : []),
            ];
            process.stdout.write(`Label set ${set.id} '${set.name}' FAILS: ${parts.join('; ')}\n`);
          }
        }
        if (!chain.ok || badSets.length) process.exitCode = 1;
      });
    });

  audit
    .command('log')
    .description('list audit events, newest first')
    .option('--db <file>', 'workspace database', defaultDbPath())
    .option('--entity <type[:id]>', 'only this entity type, or one entity (label:12, frame:<frame id>, label_set:3, issue:4, run:2)', parseEntity)
    .option('--action <action>', "exact action, or a prefix ending in '.' (label., review., issue.)")
    .option('--actor <name>', 'only events by this person')
    .option('--frame <frameId>', "events that concern this frame (label edits, review status, issues): the frame's history")
    .option('--set <id>', 'events that concern this label set', parsePositiveInt('a label set id'))
    .option('--limit <n>', 'at most this many events', parsePositiveInt('a count'), 200)
    .option('--asc', 'oldest first')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; entity?: { entityType: string; entityId?: string }; action?: string; actor?: string; frame?: string; set?: number; limit: number; asc?: boolean; json?: boolean }) => {
      await withExistingDb(opts.db, (db) => {
        const filter: AuditFilter = {
          entityType: opts.entity?.entityType, entityId: opts.entity?.entityId, action: opts.action, actor: opts.actor, frameId: opts.frame, setId: opts.set,
          limit: opts.limit, order: opts.asc ? 'asc' : 'desc',
        };
        const events = listAuditEvents(db, filter);
        if (opts.json) {
          printJson(events);
          return;
        }
        if (!events.length) {
          process.stdout.write('No audit events match\n');
          return;
        }
        for (const e of events) {
          process.stdout.write(`${pad(`#${e.seq}`, 7)} ${e.at}  ${pad(e.actor, 12)} ${pad(e.action, 24)} ${pad(`${e.entityType}:${e.entityId}`, 28)} ${summarise(e.payload)}\n`);
        }
      });
    });
}
