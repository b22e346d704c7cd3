/** Every `scion` command, in the order `scion --help` lists them. */
import type { Command } from '../command.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { infoCommand } from './info.ts';

export const COMMANDS: Command[] = [infoCommand, evalCommand, exportCommand];
