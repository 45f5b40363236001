#!/usr/bin/env node
// Launcher for the `saga-studio` command: runs the TypeScript CLI through tsx so a clone works
// after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
