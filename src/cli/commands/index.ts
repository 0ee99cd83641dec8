/**
 * The CLI's commands. A command is one module exporting `register<Name>(program, cli)`, which adds the command,
 * its options and its action to the program; adding a command is adding its module and one line below.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerAbandon } from './abandon.ts';
import { registerAddView } from './add-view.ts';
import { registerConfig } from './config.ts';
import { registerDemo } from './demo.ts';
import { registerPlan } from './plan.ts';
import { registerRun } from './run.ts';
import { registerStatus } from './status.ts';

export type RegisterCommand = (program: Command, cli: CliContext) => void;

/** In the order `--help` lists them. */
export const COMMANDS: readonly RegisterCommand[] = [
  registerPlan,
  registerRun,
  registerStatus,
  registerAbandon,
  registerAddView,
  registerDemo,
  registerConfig,
];
