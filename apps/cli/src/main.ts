import { EnvError } from '@provisioning/shared';
import { runCli } from './cli.ts';
import { readEnv } from './env.ts';

const io = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
};
try {
  process.exitCode = await runCli(process.argv.slice(2), readEnv(), io);
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  io.stderr(`${error.message}\n`);
  process.exitCode = 2;
}
