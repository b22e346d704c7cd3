/** Every `scion` command, in the order `scion --help` lists them. */
import type { Command } from '../command.ts';
import { evalCommand } from './eval.ts';
import { generateCommand } from './generate.ts';
import { exportCommand } from './export.ts';
import { growCommand } from './grow.ts';
import { infoCommand } from './info.ts';
import { serveCommand } from './serve.ts';
import { trainCommand } from './train.ts';
import { experimentCommand } from './experiment.ts';
import { demoCommand } from './demo.ts';
import { handoffCommand } from './handoff.ts';
import { importRunCommand } from './import-run.ts';
import { tokenizerCommand } from './tokenizer.ts';

export const COMMANDS: Command[] = [
  infoCommand,
  evalCommand,
  generateCommand,
  growCommand,
  exportCommand,
  trainCommand,
  experimentCommand,
  demoCommand,
  handoffCommand,
  importRunCommand,
  tokenizerCommand,
  serveCommand,
];
