/**
 * Vitest global setup: rebuilds the CLI (out/cli) before any test runs, so tests that start
 * `saga-studio` as a real process run the current sources at the built CLI's speed, never a build
 * left over from before an edit.
 */
import { buildCli } from '../../main/host/build/cli-build.ts';

export default async function setup(): Promise<void> {
  await buildCli();
}
