#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `pnpm provisioning ...` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
