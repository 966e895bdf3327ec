export { openDatabase, migrate, schemaVersion, type Db } from './db.js';
export { appendAudit, verifyAuditChain, canonicalJson, GENESIS_HASH, type AuditEvent, type AuditInput } from './audit.js';
export { recordLogOpened, listRecentLogs, getLogRecord, setLogSha256, type LogRecord } from './logs.js';
