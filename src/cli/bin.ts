#!/usr/bin/env node
import { ApiError } from '../api/contract.js';
import { buildCli } from './index.js';

try {
  await buildCli().parseAsync(process.argv);
} catch (error) {
  const e = ApiError.from(error);
  process.stderr.write(`sightline: ${e.message}\n`);
  process.exitCode = e.code === 'BAD_INPUT' ? 2 : 1;
}
