#!/usr/bin/env node
/** The executable's entry: runs the command line in this process and exits with its code. */
import { silenceNodeVersionWarning } from '../local/quiet-warnings.ts';
import { runCli } from './main.ts';

silenceNodeVersionWarning();
process.exitCode = await runCli(process.argv.slice(2));
