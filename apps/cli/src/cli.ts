import { databaseErrorMessage } from '@provisioning/db';
import { DomainError } from '@provisioning/shared';
import { parseCommandArgs, UsageError } from './args.ts';
import { type CliIo, COMMANDS } from './commands.ts';
import { ensureMigrated, openDatabase, SetupError } from './database.ts';
import type { Env } from './env.ts';

function usage(): string {
  const lines = Object.values(COMMANDS).map((command) => `  ${command.usage}\n      ${command.summary}`);
  return `Usage: pnpm provisioning <command>\n\nCommands:\n${lines.join('\n')}\n\nUses DATABASE_URL, else the embedded database under .data/.\nExit codes: 0 done, 1 failed (including "not available yet"), 2 bad input.\n`;
}

/**
 * The support CLI: `pnpm provisioning <command>`. Each command prints one JSON document on stdout;
 * problems go to stderr. Returns the exit code: 0 done, 1 failed (including "not available yet"), 2 bad input.
 */
export async function runCli(argv: string[], env: Env, io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    (argv.length === 0 ? io.stderr : io.stdout)(usage());
    return argv.length === 0 ? 2 : 0;
  }
  // A command is one or two words, each its own argument: "org create" as a single argument is not one.
  // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
  const words = [argv.slice(0, 2), argv.slice(0, 1)].find(
    (candidate) =>
      !candidate.some((word) => word.includes(' ')) && Object.hasOwn(COMMANDS, candidate.join(' ')),
  );
  const name = words?.join(' ');
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!words || !name || !command) {
    io.stderr(`Error: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${usage()}`);
    return 2;
  }
  const rest = argv.slice(words.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`Usage: pnpm provisioning ${command.usage}\n${command.summary}\n`);
    return 0;
  }
  try {
    const { values, positionals } = parseCommandArgs(
      rest,
      command.options,
      command.positionals,
      command.usage,
    );
    const db = await openDatabase(env);
    try {
      if (name !== 'migrate') await ensureMigrated(db);
      const result = await command.run(db, values, positionals, io);
      io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    io.stderr(`Error: ${databaseErrorMessage(error)}\n`);
    if (error instanceof UsageError) return 2;
    if (error instanceof DomainError) return error.code === 'UNAVAILABLE' ? 1 : 2;
    if (!(error instanceof SetupError) && env.DEBUG) {
      io.stderr(`${(error as Error).stack}\n`);
    }
    return 1;
  }
}
