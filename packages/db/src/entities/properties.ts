import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';

/** Columns most tables share. IDs are UUIDs made by the application, so they are known before insert. */
export const uuidPrimaryKey = () =>
  p
    .uuid()
    .primary()
    .onCreate(() => randomUUID());
export const createdAt = () => p.datetime().onCreate(() => new Date());
export const updatedAt = () =>
  p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date());
