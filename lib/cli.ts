#!/usr/bin/env node
/** The `shardvault` command (package.json bin: dist/lib/cli.js). The program lives in lib/cli/program.ts. */
import { main } from './cli/program.js';

void main(process.argv);
