#!/usr/bin/env node
// The CLI is TypeScript run through tsx, like every script in this repository.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
